"""Reports: monthly KPI reports, comparisons and unit scorecards built on minxin.core.kpi."""
