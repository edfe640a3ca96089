"""The monthly report as a workbook (openpyxl), a flat CSV, or Rich tables for the terminal.

Workbook: one sheet per view — 总览, 单位考核, 同比环比, 按单位, 按渠道, 按类型, 按类别, 按区域,
说明 — with bold filled headers, the header row frozen, sensible column widths, rates stored as
fractions with the number format ``0.00%`` (so Excel computes with them), durations ``0.00``.
Next to every rate is its sample size (样本数), so small units are read with care.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minxin.core.kpi import KPIS
from minxin.core.kpi.definitions import KpiUnit

SHEETS = {"unit": "按单位", "channel": "按渠道", "appeal_type": "按类型", "category": "按类别", "region": "按区域"}
#: KPIs shown in breakdown sheets and tables, in order
MAIN = (
    "volume", "dispatch_on_time_rate", "sign_on_time_rate", "on_time_completion_rate", "overdue_count",
    "avg_handling_working_days", "p90_handling_working_days", "direct_answer_rate", "callback_rate",
    "satisfaction_rate", "satisfaction_rate_fair", "fairness_excluded_count", "resolution_rate",
    "resolution_rate_fair", "reopen_rate", "return_rate", "evidence_compliance_rate", "dissatisfied_count",
    "praise_count",
)  # fmt: skip
_FORMATS = {KpiUnit.RATE: "0.00%", KpiUnit.COUNT: "0", KpiUnit.WORKING_DAYS: "0.00", KpiUnit.WORKING_HOURS: "0.00"}


def _fmt(code: str) -> str:
    return _FORMATS[KPIS[code].unit]


# ----------------------------------------------------------------------------- xlsx
def to_xlsx(report: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    _overview(book.create_sheet("总览"), report)
    _scorecard(book.create_sheet("单位考核"), report)
    _comparisons(book.create_sheet("同比环比"), report)
    for dim, title in SHEETS.items():
        _breakdown(book.create_sheet(title), report["breakdowns"].get(dim, []))
    _about(book.create_sheet("说明"), report)
    book.save(path)


def _style(sheet: Any, headers: Sequence[str], widths: Sequence[int]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    sheet.append(list(headers))
    thin = Side(style="thin", color="8EA9DB")
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F5597")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 30
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


def _put(sheet: Any, row: int, col: int, value: Any, number_format: str | None = None) -> None:
    cell = sheet.cell(row=row, column=col, value=value)
    if number_format and value is not None:
        cell.number_format = number_format


def _overview(sheet: Any, report: dict[str, Any]) -> None:
    _style(sheet, ["指标代码", "指标", "数值", "分子", "分母", "样本数", "样本少", "显示"], [30, 26, 14, 14, 12, 10, 8, 16])
    for r, (code, k) in enumerate(report["kpis"].items(), start=2):
        for c, value in enumerate((code, k["name_zh"]), start=1):
            _put(sheet, r, c, value)
        _put(sheet, r, 3, k["value"], _fmt(code))
        _put(sheet, r, 4, k["numerator"], "0.00" if KPIS[code].unit is not KpiUnit.COUNT else "0")
        _put(sheet, r, 5, k["denominator"], "0")
        _put(sheet, r, 6, k["sample_size"], "0")
        _put(sheet, r, 7, "是" if k["small_sample"] else "")
        _put(sheet, r, 8, k["display"])


def _scorecard(sheet: Any, report: dict[str, Any]) -> None:
    units = report["scorecard"]["units"]
    codes = [line["kpi"] for line in units[0]["lines"]] if units else []
    headers = ["排名", "单位编码", "单位", "总分", "基础分", "扣分", "加分", "有效工单量", "公平性剔除", "其中有满意度"]
    for code in codes:
        headers += [KPIS[code].name_zh, "样本数", "得分"]
    _style(sheet, headers, [6, 12, 26, 9, 9, 7, 7, 10, 10, 10] + [13, 8, 7] * len(codes))
    for r, u in enumerate(units, start=2):
        values = [u["rank"], u["unit"], u["name"], u["score"], u["base_score"], u["deduction"], u["bonus"],
                  u["volume"], u["fairness_excluded"], u["fairness_excluded_answered"]]  # fmt: skip
        for c, v in enumerate(values, start=1):
            _put(sheet, r, c, v, "0.00" if c in (4, 5, 6, 7) else None)
        for i, line in enumerate(u["lines"]):
            col = 11 + 3 * i
            _put(sheet, r, col, line["value"], _fmt(line["kpi"]))
            _put(sheet, r, col + 1, line["sample_size"], "0")
            _put(sheet, r, col + 2, line["points"], "0.00")


def _comparisons(sheet: Any, report: dict[str, Any]) -> None:
    comp = report["comparisons"]
    headers = ["指标", f"本期 {comp['period']}", f"环比 {comp['mom_period']}", "环比变化", "环比变化率",
               f"同比 {comp['yoy_period']}", "同比变化", "同比变化率", "同期三年均值", "较三年均值变化",
               "较三年均值变化率", "参与均值的年份"]  # fmt: skip
    _style(sheet, headers, [26, 14, 14, 12, 12, 14, 12, 12, 14, 14, 14, 18])
    r = 1
    for r, (code, k) in enumerate(comp["kpis"].items(), start=2):
        f = _fmt(code)
        _put(sheet, r, 1, k["name_zh"])
        _put(sheet, r, 2, k["current"], f)
        for col, key in ((3, "mom"), (6, "yoy"), (9, "three_year")):
            _put(sheet, r, col, k[key]["baseline"], f)
            _put(sheet, r, col + 1, k[key]["absolute"], f)
            _put(sheet, r, col + 2, k[key]["relative"], "0.00%")
        _put(sheet, r, 12, "、".join(str(y) for y in k["three_year"]["years_used"]) or "无")
    for note in comp["notes"] or ["基期数据齐全 / all baseline periods have data"]:
        r += 1
        _put(sheet, r + 1, 1, note)


def _breakdown(sheet: Any, rows: list[dict[str, Any]]) -> None:
    headers = ["编码", "名称"]
    for code in MAIN:
        headers.append(KPIS[code].name_zh)
        if KPIS[code].unit is KpiUnit.RATE:
            headers.append("样本数")
    _style(sheet, headers, [14, 26] + [12] * (len(headers) - 2))
    for r, row in enumerate(rows, start=2):
        _put(sheet, r, 1, str(row["key"]))
        _put(sheet, r, 2, row["label"])
        col = 3
        for code in MAIN:
            k = row["kpis"][code]
            _put(sheet, r, col, k["value"], _fmt(code))
            col += 1
            if KPIS[code].unit is KpiUnit.RATE:
                _put(sheet, r, col, k["sample_size"], "0")
                col += 1


def _about(sheet: Any, report: dict[str, Any]) -> None:
    _style(sheet, ["项目", "内容"], [20, 90])
    unit = report.get("unit")
    lines = [
        ("报告", report["title"]),
        ("统计期", f"{report['period']['from']} 至 {report['period']['to']}（按受理时间，Asia/Shanghai）"),
        ("范围", f"{unit['name']}（{unit['code']}）及下级单位" if unit else "全部单位"),
        ("统计时点 as_of", report["as_of"]),
        ("生成时间", report["generated_at"]),
        ("考核方案", f"{report['scorecard']['name']}（版本 {report['scorecard']['version']}）"),
        ("口径", "指标定义见 docs/kpis.md；满意率、解决率考核口径剔除督办认定的不合理诉求（公平性剔除）"),
        *(("说明", note) for note in report["notes"] + report["comparisons"]["notes"]),
    ]
    for line in lines:
        sheet.append(list(line))


# ----------------------------------------------------------------------------- csv
CSV_COLUMNS = ("section", "group_by", "key", "label", "kpi", "name_zh", "value", "numerator", "denominator",
               "sample_size", "display")  # fmt: skip


def to_csv(report: dict[str, Any]) -> str:
    """A long table: one line per (section, group, KPI); scorecard lines as section ``scorecard``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)

    def kpis(section: str, group_by: str, key: Any, label: str, values: dict[str, Any]) -> None:
        for code, k in values.items():
            w.writerow([section, group_by, key, label, code, k["name_zh"], k["value"], k["numerator"],
                        k["denominator"], k["sample_size"], k["display"]])  # fmt: skip

    kpis("overview", "", "", "合计", report["kpis"])
    for dim, rows in report["breakdowns"].items():
        for row in rows:
            kpis("breakdown", dim, row["key"], row["label"], row["kpis"])
    for u in report["scorecard"]["units"]:
        w.writerow(["scorecard", "unit", u["unit"], u["name"], "score", "总分", u["score"], "", "", u["volume"],
                    "" if u["score"] is None else f"{u['score']:.2f}"])  # fmt: skip
        w.writerow(["scorecard", "unit", u["unit"], u["name"], "rank", "排名", u["rank"], "", "", "", u["rank"] or ""])
        for line in u["lines"]:
            w.writerow(["scorecard", "unit", u["unit"], u["name"], line["kpi"], line["name_zh"], line["value"],
                        line["numerator"], line["denominator"], line["sample_size"], line["display"]])  # fmt: skip
    for code, k in report["comparisons"]["kpis"].items():
        for key in ("mom", "yoy", "three_year"):
            w.writerow([f"comparison_{key}", "", "", k["name_zh"], code, k["name_zh"], k[key]["baseline"],
                        k[key]["absolute"], k[key]["relative"], "", ""])  # fmt: skip
    return out.getvalue()


# ----------------------------------------------------------------------------- terminal
def to_tables(report: dict[str, Any]) -> list[Any]:
    """Rich renderables: overview, comparisons and the ranking."""
    from rich.table import Table

    unit = report.get("unit")
    title = report["title"] + (f" · {unit['name']}" if unit else "")
    overview = Table(title=title, title_justify="left")
    for col in ("指标", "数值", "分子 / 分母", "样本数"):
        overview.add_column(col, justify="right" if col != "指标" else "left")
    for k in report["kpis"].values():
        den = "" if k["denominator"] is None or k["numerator"] is None else f"{_num(k['numerator'])} / {k['denominator']}"
        overview.add_row(k["name_zh"], k["display"], den, f"{k['sample_size']}{' 样本少' if k['small_sample'] else ''}")
    comp = report["comparisons"]
    cmp_table = Table(title=f"同比环比（环比 {comp['mom_period']}，同比 {comp['yoy_period']}，三年均值 "
                            f"{'、'.join(comp['baseline_periods'])}）", title_justify="left")  # fmt: skip
    for col in ("指标", "本期", "环比", "同比", "三年均值"):
        cmp_table.add_column(col, justify="right" if col != "指标" else "left")
    for code in MAIN:
        k = comp["kpis"][code]
        cmp_table.add_row(k["name_zh"], _disp(code, k["current"]), *(_change(code, k[x]) for x in ("mom", "yoy", "three_year")))
    if comp["notes"]:
        cmp_table.caption = "；".join(comp["notes"])
    rank = Table(title=f"单位考核排名（{report['scorecard']['name']} v{report['scorecard']['version']}）", title_justify="left")
    for col in ("排名", "单位", "总分", "基础分", "扣分", "加分", "工单量", "公平性剔除"):
        rank.add_column(col, justify="left" if col == "单位" else "right")
    for u in report["scorecard"]["units"]:
        rank.add_row(str(u["rank"] or "—"), u["name"], _score(u["score"]), _score(u["base_score"]),
                     f"{u['deduction']:.1f}", f"{u['bonus']:.1f}", str(u["volume"]),
                     f"{u['fairness_excluded']}（{u['fairness_excluded_answered']}）")  # fmt: skip
    return [overview, cmp_table, rank]


def _num(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _disp(code: str, v: float | None) -> str:
    from minxin.core.kpi import format_value

    return format_value(code, v)


def _change(code: str, c: dict[str, Any]) -> str:
    if c["absolute"] is None:
        return "无基期数据" if c["baseline"] is None else "—"
    rate = KPIS[code].unit is KpiUnit.RATE
    absolute = f"{c['absolute'] * 100:+.2f}个百分点" if rate else f"{c['absolute']:+.2f}"
    relative = "" if c["relative"] is None else f"（{c['relative'] * 100:+.2f}%）"
    return absolute + relative


def write(report: dict[str, Any], fmt: str, out: Path | None) -> str | None:
    """Write ``fmt`` (json/csv/xlsx) to ``out``; returns text for stdout when ``out`` is None."""
    import json

    if fmt == "xlsx":
        assert out is not None
        to_xlsx(report, out)
        return None
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str) if fmt == "json" else to_csv(report)
    if out is None:
        return text
    out.write_text(text, encoding="utf-8")
    return None
