"""The demo organisation: a city 12345 centre, its departments, a power company with county
units and first contact persons (第一联系人), water and heating companies, and districts.

Region codes are the NBS division codes of Shenyang (沈阳市, 2101) and its districts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from minxin.accounts import service as accounts_service
from minxin.units import service as units_service

ROOT = "12345"

#: (code, name, kind, parent, region, contact name, contact phone)
UNITS: list[tuple[str, str, str, str | None, str | None, str | None, str | None]] = [
    (ROOT, "沈阳市12345政务服务便民热线中心", "centre", None, "2101", "王主任", "024-12345000"),
    ("CGJ", "市城市管理综合行政执法局", "department", ROOT, "2101", "李科长", "024-22300001"),
    ("ZJJ", "市住房和城乡建设局", "department", ROOT, "2101", "赵科长", "024-22300002"),
    ("RSJ", "市人力资源和社会保障局", "department", ROOT, "2101", "孙科长", "024-22300003"),
    ("SCJ", "市市场监督管理局", "department", ROOT, "2101", "周科长", "024-22300004"),
    ("JTJ", "市交通运输局", "department", ROOT, "2101", "吴科长", "024-22300005"),
    ("JYJ", "市教育局", "department", ROOT, "2101", "郑科长", "024-22300006"),
    ("WJW", "市卫生健康委员会", "department", ROOT, "2101", "冯科长", "024-22300007"),
    ("HBJ", "市生态环境局", "department", ROOT, "2101", "陈科长", "024-22300008"),
    ("GAJ", "市公安局（110联动）", "department", ROOT, "2101", "褚警官", "024-22300009"),
    ("GDGS", "国网沈阳供电公司", "company", ROOT, "2101", "刘经理", "024-95598001"),
    ("GD-LZ", "国网辽中区供电分公司", "district", "GDGS", "210115", "韩立军", "13904010001"),
    ("GD-LZ-CZ", "辽中城区供电所", "station", "GD-LZ", "210115", "杨所长", "13904010011"),
    ("GD-LZ-CYT", "茨榆坨供电所", "station", "GD-LZ", "210115", "朱所长", "13904010012"),
    ("GD-XM", "国网新民市供电分公司", "district", "GDGS", "210181", "秦海涛", "13904010002"),
    ("GD-XM-CZ", "新民城区供电所", "station", "GD-XM", "210181", "尤所长", "13904010021"),
    ("GD-KP", "国网康平县供电分公司", "district", "GDGS", "210123", "许志强", "13904010003"),
    ("GD-FK", "国网法库县供电分公司", "district", "GDGS", "210124", "何文斌", "13904010004"),
    ("SWJT", "沈阳水务集团", "company", ROOT, "2101", "吕经理", "024-96000001"),
    ("RLJT", "沈阳供暖集团", "company", ROOT, "2101", "施经理", "024-96000002"),
    ("QX-HP", "和平区人民政府", "district", ROOT, "210102", "张区长助理", "024-23400001"),
    ("QX-HP-TJ", "和平区太原街街道", "station", "QX-HP", "210102", "孔主任", "024-23400011"),
    ("QX-TX", "铁西区人民政府", "district", ROOT, "210106", "曹区长助理", "024-23400002"),
    ("QX-TX-XG", "铁西区兴工街道", "station", "QX-TX", "210106", "严主任", "024-23400021"),
    ("QX-LZ", "辽中区人民政府", "district", ROOT, "210115", "华区长助理", "024-23400003"),
    ("QX-XM", "新民市人民政府", "district", ROOT, "210181", "金市长助理", "024-23400004"),
    ("QX-KP", "康平县人民政府", "district", ROOT, "210123", "魏县长助理", "024-23400005"),
    ("QX-FK", "法库县人民政府", "district", ROOT, "210124", "陶县长助理", "024-23400006"),
]

#: the power company's units answer 24×7 (95598 standard); everyone else keeps office hours
ALWAYS_OPEN = {"GDGS", "GD-LZ", "GD-LZ-CZ", "GD-LZ-CYT", "GD-XM", "GD-XM-CZ", "GD-KP", "GD-FK", "GAJ"}

#: (username, display name, role, unit)
USERS: list[tuple[str, str, str, str]] = [
    ("admin", "系统管理员", "admin", ROOT),
    ("agent", "话务员小王", "agent", ROOT),
    ("agent2", "话务员小李", "agent", ROOT),
    ("dispatcher", "派单员老张", "dispatcher", ROOT),
    ("supervisor", "督办员刘姐", "supervisor", ROOT),
    ("leader", "中心领导陈主任", "leader", ROOT),
    ("gd_leader", "供电公司领导", "leader", "GDGS"),
    ("gd_dispatcher", "供电公司调度", "handler", "GDGS"),
    ("lz_handler", "辽中供电韩立军", "handler", "GD-LZ"),
    ("lz_station", "辽中城区供电所杨所长", "handler", "GD-LZ-CZ"),
    ("xm_handler", "新民供电秦海涛", "handler", "GD-XM"),
    ("kp_handler", "康平供电许志强", "handler", "GD-KP"),
    ("cgj_handler", "城管局承办人", "handler", "CGJ"),
    ("zjj_handler", "住建局承办人", "handler", "ZJJ"),
    ("rsj_handler", "人社局承办人", "handler", "RSJ"),
    ("tx_handler", "铁西区承办人", "handler", "QX-TX"),
    ("hp_handler", "和平区承办人", "handler", "QX-HP"),
    ("sw_handler", "水务集团承办人", "handler", "SWJT"),
    ("rl_handler", "供暖集团承办人", "handler", "RLJT"),
    ("scj_handler", "市场监管局承办人", "handler", "SCJ"),
    ("jtj_handler", "交通局承办人", "handler", "JTJ"),
    ("jyj_handler", "教育局承办人", "handler", "JYJ"),
    ("wjw_handler", "卫健委承办人", "handler", "WJW"),
    ("hbj_handler", "生态环境局承办人", "handler", "HBJ"),
    ("gaj_handler", "公安局联络员", "handler", "GAJ"),
    ("fk_handler", "法库供电何文斌", "handler", "GD-FK"),
    ("lzq_handler", "辽中区承办人", "handler", "QX-LZ"),
    ("kpx_handler", "康平县承办人", "handler", "QX-KP"),
    ("fkx_handler", "法库县承办人", "handler", "QX-FK"),
]

DEFAULT_PASSWORD = "minxin123"


def create_organisation(session: Session, *, password: str, now: datetime) -> list[tuple[str, str, str, str]]:
    """Create units and users; returns the users created as (username, name, role, unit)."""
    for code, name, kind, parent, region, contact, phone in UNITS:
        units_service.create_unit(
            session,
            code=code,
            name=name,
            kind=kind,
            parent_code=parent,
            region_code=region,
            contact_name=contact,
            contact_phone=phone,
            always_open=code in ALWAYS_OPEN,
        )
    for username, display, role, unit in USERS:
        accounts_service.create_user(
            session, username=username, password=password, role=role, unit_code=unit, display_name=display, now=now
        )
    return USERS
