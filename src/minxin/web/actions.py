"""The form behind each lifecycle action, and turning a posted form into the action's body.

Which buttons a page shows is not decided here: it is ``allowed_actions`` from the presenter,
i.e. ``core.lifecycle.possible_actions``. This module only says what each action asks for
(the fields of ``workorders.schemas.PAYLOADS``) and how it looks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from starlette.datastructures import FormData

from minxin.core.lifecycle import RULES
from minxin.core.vocabulary import ACTION_ZH, SATISFACTION_ZH, Action, Role, Status

YES_NO = (("1", "是"), ("0", "否"))


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    #: text | textarea | unit | units | radio | checkbox | photos | recording
    kind: str = "text"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    placeholder: str = ""
    default: str = ""
    hint: str = ""


@dataclass(frozen=True)
class ActionForm:
    action: str
    fields: tuple[Field, ...] = ()
    #: primary = the main path (shown open, blue); danger = destructive (red)
    tone: str = "normal"
    confirm: str = ""

    @property
    def multipart(self) -> bool:
        return any(f.kind in ("photos", "recording") for f in self.fields)


NOTE = Field("note", "备注", placeholder="可选")

FORMS: dict[str, ActionForm] = {
    "answer": ActionForm("answer", (Field("answer", "答复内容", "textarea", True, placeholder="直接答复来电人的内容"),), "primary"),
    "dispatch": ActionForm("dispatch", (Field("unit", "派往单位", "unit", True), Field("note", "派单说明", placeholder="可选：给承办单位的说明")), "primary"),
    "sign": ActionForm("sign", (NOTE,), "primary"),
    "return": ActionForm("return", (Field("reason", "退单原因", "textarea", True, placeholder="如：不属于本单位职责，建议派往…"),), "danger"),
    "review_return": ActionForm(
        "review_return",
        (
            Field("approve", "审核结果", "radio", True, (("1", "同意退单（回到中心重新派单）"), ("0", "驳回（退回原单位继续办理）"))),
            NOTE,
        ),
        "primary",
    ),
    "reply": ActionForm(
        "reply",
        (
            Field("result", "办理结果", "textarea", True, placeholder="现场处理情况、结果、与来电人沟通情况"),
            Field("photos", "现场照片", "photos", hint="可多选；手机上可直接拍照"),
        ),
        "primary",
    ),
    "callback": ActionForm(
        "callback",
        (
            Field("reachable", "是否接通", "radio", True, (("1", "已接通"), ("0", "未接通")), default="1"),
            Field("satisfaction", "满意度", "radio", False, tuple((s.value, z) for s, z in SATISFACTION_ZH.items())),
            Field("resolved", "问题是否解决", "radio", False, (("1", "已解决"), ("0", "未解决"))),
            Field("recording", "回访录音", "recording", hint="MP3/WAV/AMR/M4A"),
            Field("note", "回访记录", "textarea", placeholder="来电人的原话、意见"),
        ),
        "primary",
    ),
    "close": ActionForm(
        "close",
        (
            NOTE,
            Field("unreasonable", "诉求不合理或无法律依据（不计入单位满意度）", "checkbox"),
            Field("reason", "不合理的理由", placeholder="勾选上一项时必填"),
        ),
    ),
    "reopen": ActionForm("reopen", (Field("reason", "重办原因", "textarea", True, placeholder="来电人不满意的原因"),), "primary"),
    "request_extension": ActionForm(
        "request_extension",
        (
            Field("duration", "延期时长", "text", True, placeholder="如 3wd", hint="wd=工作日，wh=工作小时，d=自然日，h=小时"),
            Field("reason", "延期理由", "textarea", True),
        ),
    ),
    "decide_extension": ActionForm(
        "decide_extension", (Field("approve", "审批结果", "radio", True, (("1", "同意延期"), ("0", "不同意"))), NOTE), "primary"
    ),
    "suspend": ActionForm("suspend", (Field("reason", "挂起原因", "textarea", True, placeholder="如：等待来电人提供材料"),)),
    "resume": ActionForm("resume", (NOTE,)),
    "urge": ActionForm("urge", (Field("note", "督办意见", "textarea", True, default="请加快办理，按时办结并及时回复。"),)),
    "merge": ActionForm("merge", (Field("into", "并入工单号", "text", True, placeholder="如 20260101000001"), NOTE)),
    "void": ActionForm("void", (Field("reason", "作废原因", "textarea", True),), "danger", confirm="确定作废此工单？"),
    "co_handle": ActionForm("co_handle", (Field("units", "协办单位", "units", True), NOTE)),
    "note": ActionForm("note", (Field("text", "备注内容", "textarea", True),)),
}

#: payload field → form field, for errors reported on payload names
ALIASES = {"attachments": "photos", "expected_version": "__form__"}
BOOL_FIELDS = {"approve", "reachable", "resolved"}
PRIMARY_ORDER = [a.value for a in Action]


def label_for(action: str, status: str, role: Role) -> str:
    """The lifecycle's own word for this action here (派单 / 改派 / 二级派单 …)."""
    try:
        act, current = Action(action), Status(status)
    except ValueError:
        return action
    labels = {r.label_zh for r in RULES if r.action is act and current in r.sources and role in r.roles}
    return labels.pop() if len(labels) == 1 else ACTION_ZH[act]


def forms_for(allowed: list[dict[str, Any]], status: str, role: Role) -> list[dict[str, Any]]:
    """The action forms a user sees, main-path actions first."""
    out = []
    for item in allowed:
        spec = FORMS.get(item["action"])
        if spec is None:
            continue
        label = label_for(spec.action, status, role)
        if spec.action == "dispatch" and label != "派单":
            spec = replace(spec, tone="normal")  # 改派 / 二级派单 are side paths, not the next step
        out.append({"spec": spec, "action": spec.action, "label": label})
    out.sort(key=lambda f: (f["spec"].tone != "primary", f["action"] == "note"))
    return out


def body_from_form(action: str, form: FormData, uploads: dict[str, list[str]]) -> dict[str, Any]:
    """The action's JSON body from a posted form; empty optional fields are left out, so the
    payload schema reports required ones as missing (shown "必填" next to the field)."""
    spec = FORMS[action]
    body: dict[str, Any] = {}
    for field in spec.fields:
        if field.kind == "photos":
            body["attachments"] = uploads.get(field.name, [])
        elif field.kind == "recording":
            ids = uploads.get(field.name, [])
            if ids:
                body[field.name] = ids[0]
        elif field.kind == "units":
            values = [str(v) for v in form.getlist(field.name) if str(v).strip()]
            if values:
                body[field.name] = values
        elif field.kind == "checkbox":
            body[field.name] = form.get(field.name) in ("1", "on", "true")
        else:
            value = str(form.get(field.name) or "").strip()
            if field.name in BOOL_FIELDS:
                if value in ("1", "0"):
                    body[field.name] = value == "1"
            elif value:
                body[field.name] = value
    if action == "callback" and body.get("reachable") is False:
        body.pop("satisfaction", None)
        body.pop("resolved", None)
    version = str(form.get("version") or "")
    if version.isdigit():
        body["expected_version"] = int(version)
    return body
