"""The fixed vocabulary of the domain: statuses, actions, roles, channels, appeal types.

These string values are part of the public contract (API, reports, exports); never rename
one. Chinese labels live beside them so the UI, docs and exports all say the same thing.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    RETURNED = "returned"
    SUSPENDED = "suspended"
    REPLIED = "replied"
    CLOSED = "closed"
    MERGED = "merged"
    VOID = "void"


STATUS_ZH: dict[Status, str] = {
    Status.REGISTERED: "已受理",
    Status.DISPATCHED: "已派单",
    Status.SIGNED: "已签收",
    Status.RETURNED: "已退单",
    Status.SUSPENDED: "已挂起",
    Status.REPLIED: "已办结",
    Status.CLOSED: "已归档",
    Status.MERGED: "已并单",
    Status.VOID: "已作废",
}

#: Statuses from which nothing but reading is possible.
FINAL_STATUSES: frozenset[Status] = frozenset({Status.CLOSED, Status.MERGED, Status.VOID})
OPEN_STATUSES: frozenset[Status] = frozenset(Status) - FINAL_STATUSES


class Action(StrEnum):
    ANSWER = "answer"
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    REVIEW_RETURN = "review_return"
    REPLY = "reply"
    CALLBACK = "callback"
    CLOSE = "close"
    REOPEN = "reopen"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    URGE = "urge"
    MERGE = "merge"
    VOID = "void"
    CO_HANDLE = "co_handle"
    NOTE = "note"
    CLASSIFY = "classify"


ACTION_ZH: dict[Action, str] = {
    Action.ANSWER: "直接答复",
    Action.DISPATCH: "派单",
    Action.SIGN: "签收",
    Action.RETURN: "退单",
    Action.REVIEW_RETURN: "退单审核",
    Action.REPLY: "办结回复",
    Action.CALLBACK: "回访",
    Action.CLOSE: "归档",
    Action.REOPEN: "重办",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "延期审批",
    Action.SUSPEND: "挂起",
    Action.RESUME: "恢复办理",
    Action.URGE: "督办",
    Action.MERGE: "并单",
    Action.VOID: "作废",
    Action.CO_HANDLE: "协办",
    Action.NOTE: "备注",
    Action.CLASSIFY: "修改分类",
}


class Role(StrEnum):
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    LEADER = "leader"
    ADMIN = "admin"


ROLE_ZH: dict[Role, str] = {
    Role.AGENT: "话务员",
    Role.DISPATCHER: "派单员",
    Role.HANDLER: "承办人",
    Role.SUPERVISOR: "督办/质检",
    Role.LEADER: "领导",
    Role.ADMIN: "管理员",
}


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    APP = "app"
    API = "api"
    OPEN311 = "open311"
    TRANSFER = "transfer"


CHANNEL_ZH: dict[Channel, str] = {
    Channel.PHONE: "电话",
    Channel.WEB: "网站",
    Channel.APP: "移动端",
    Channel.API: "接口",
    Channel.OPEN311: "Open311",
    Channel.TRANSFER: "转办",
}


class AppealType(StrEnum):
    CONSULT = "consult"
    HELP = "help"
    REPAIR = "repair"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGEST = "suggest"
    PRAISE = "praise"


APPEAL_TYPE_ZH: dict[AppealType, str] = {
    AppealType.CONSULT: "咨询",
    AppealType.HELP: "求助",
    AppealType.REPAIR: "故障报修",
    AppealType.COMPLAINT: "投诉",
    AppealType.REPORT: "举报",
    AppealType.SUGGEST: "建议",
    AppealType.PRAISE: "表扬",
}

#: Appeal types an agent may close at intake with a direct answer (直接答复).
DIRECT_ANSWER_TYPES: frozenset[AppealType] = frozenset(
    {AppealType.CONSULT, AppealType.SUGGEST, AppealType.PRAISE}
)


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_ZH: dict[Urgency, str] = {Urgency.NORMAL: "一般", Urgency.URGENT: "紧急", Urgency.EMERGENCY: "特急"}
URGENCY_RANK: dict[Urgency, int] = {Urgency.NORMAL: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


SATISFACTION_ZH: dict[Satisfaction, str] = {
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASICALLY_SATISFIED: "基本满意",
    Satisfaction.DISSATISFIED: "不满意",
}


class UnitKind(StrEnum):
    CENTRE = "centre"
    DEPARTMENT = "department"
    COMPANY = "company"
    DISTRICT = "district"
    STATION = "station"


UNIT_KIND_ZH: dict[UnitKind, str] = {
    UnitKind.CENTRE: "热线中心",
    UnitKind.DEPARTMENT: "职能部门",
    UnitKind.COMPANY: "企业",
    UnitKind.DISTRICT: "区县单位",
    UnitKind.STATION: "站所",
}
