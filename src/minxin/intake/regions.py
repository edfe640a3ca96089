"""Loaders that turn division tables into :class:`~minxin.core.address.Division` records.

Three sources, one record shape (code, name, level, parent code), so the resolver never cares
where the table came from:

* :func:`load_package_divisions` (the default): the province/city/county table shipped in
  ``minxin/intake/data/adcodes.csv`` (taken from the MIT-licensed ``cpca`` package, 12-digit
  codes, 2020 data; ``cpca`` itself is not a dependency, its import would need pandas).
* :func:`load_nbs_directory`: the NBS layout of ``cn_admin_divisions`` (provinces.csv,
  cities.csv, areas.csv and, when present, streets.csv for townships) that an admin imports
  with ``minxin region import DIR``.
* :func:`load_simple_csv`: ``code,name,level,parent_code`` for hand-made tables.

Codes are normalised to the NBS statistical form (province 2 digits, city 4, county 6,
township 9), so routing rules written against one source work with the other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from minxin.core.address import AddressResolver, Division, DivisionLevel

_WIDTH = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.CITY: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
}
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


class RegionSourceError(RuntimeError):
    """The division table cannot be found or read."""


def _level_of_12(code: str) -> DivisionLevel:
    if code[2:] == "0" * 10:
        return DivisionLevel.PROVINCE
    if code[4:] == "0" * 8:
        return DivisionLevel.CITY
    if code[6:] == "0" * 6:
        return DivisionLevel.COUNTY
    return DivisionLevel.TOWNSHIP


def divisions_from_adcodes(rows: Iterable[tuple[str, str]]) -> list[Division]:
    """Records from (12-digit adcode, name) pairs; parents come from the code prefixes.

    A county whose city row is missing gets a synthetic placeholder city (市辖区 for the four
    municipalities, 省直辖县级行政区划 otherwise), exactly as the NBS table has it.
    """
    out: dict[str, Division] = {}
    for raw_code, name in rows:
        code = raw_code.strip().ljust(12, "0")
        if not code.isdigit() or len(code) != 12:
            continue
        level = _level_of_12(code)
        short = code[: _WIDTH[level]]
        parent = (
            None
            if level is DivisionLevel.PROVINCE
            else code[: _WIDTH[level] - (2 if level is not DivisionLevel.TOWNSHIP else 3)]
        )
        out[short] = Division(short, name.strip(), level, parent)
    for d in list(out.values()):
        if d.level is DivisionLevel.COUNTY and d.parent_code not in out:
            placeholder = "市辖区" if d.code[:2] in _MUNICIPALITIES else "省直辖县级行政区划"
            out[d.parent_code or ""] = Division(d.code[:4], placeholder, DivisionLevel.CITY, d.code[:2])
    return sorted(out.values(), key=lambda d: d.code)


def package_table_path() -> Path:
    """The bundled adcode table (taken from ``cpca`` 0.5.5, MIT; see ``data/LICENSE-cpca.txt``)."""
    path = Path(str(resources.files("minxin.intake.data").joinpath("adcodes.csv")))
    if not path.is_file():
        raise RegionSourceError(f"the bundled division table {path} is missing")
    return path


def load_package_divisions() -> list[Division]:
    """The bundled province/city/county table (no townships)."""
    with package_table_path().open(encoding="utf-8", newline="") as fh:
        return divisions_from_adcodes((r["adcode"], r["name"]) for r in csv.DictReader(fh))


def _read(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def load_nbs_directory(directory: Path | str, *, townships: bool = True) -> list[Division]:
    """Records from the cn_admin_divisions layout (provinces/cities/areas[/streets].csv)."""
    base = Path(directory)
    needed = [base / "provinces.csv", base / "cities.csv", base / "areas.csv"]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise RegionSourceError(f"{base}: missing {', '.join(missing)}")
    out = [Division(r["code"], r["name"], DivisionLevel.PROVINCE) for r in _read(needed[0])]
    out += [Division(r["code"], r["name"], DivisionLevel.CITY, r["provinceCode"]) for r in _read(needed[1])]
    out += [Division(r["code"], r["name"], DivisionLevel.COUNTY, r["cityCode"]) for r in _read(needed[2])]
    streets = base / "streets.csv"
    if townships and streets.is_file():
        out += [Division(r["code"], r["name"], DivisionLevel.TOWNSHIP, r["areaCode"]) for r in _read(streets)]
    return out


def parse_simple_csv(text: str) -> list[Division]:
    """Records from ``code,name,level,parent_code`` text (header required, level by name)."""
    out: list[Division] = []
    for n, row in enumerate(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))), start=2):
        try:
            level = DivisionLevel(row["level"].strip().lower())
            out.append(
                Division(
                    row["code"].strip(),
                    row["name"].strip(),
                    level,
                    (row.get("parent_code") or "").strip() or None,
                )
            )
        except (KeyError, ValueError, AttributeError) as exc:
            raise RegionSourceError(f"line {n}: expected code,name,level,parent_code ({exc})") from exc
    return out


def load_simple_csv(path: Path | str) -> list[Division]:
    return parse_simple_csv(Path(path).read_text(encoding="utf-8"))


def dump_simple_csv(divisions: Iterable[Division]) -> str:
    """The inverse of :func:`parse_simple_csv`, for exporting whatever table is in use."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["code", "name", "level", "parent_code"])
    for d in divisions:
        writer.writerow([d.code, d.name, d.level.value, d.parent_code or ""])
    return buf.getvalue()


def default_resolver() -> AddressResolver:
    """A resolver over the bundled package table, for deployments that imported nothing."""
    return AddressResolver.from_records(load_package_divisions())
