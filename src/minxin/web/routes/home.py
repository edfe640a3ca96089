"""``/``: the role's home page: its queues with counts, and what to do first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from minxin.api.deps import State
from minxin.web import auth, extensions, queues, render
from minxin.web.routes.queues import count_queue

router = APIRouter(include_in_schema=False)

#: one line per role: what the home page says the job is
INTRO = {
    "agent": "接听来电，快速登记诉求；咨询类可直接答复；已办结工单需要回访。",
    "dispatcher": "把已受理的工单派给正确的承办单位，审核承办单位的退单。",
    "handler": "签收派给本单位的工单，现场处理后上传照片办结回复；不属于本单位的及时退单。",
    "supervisor": "回访已办结工单，督办超期和临期工单，审批延期申请。",
    "leader": "查看本单位范围内的工单办理情况，对超期工单一键督办。",
    "admin": "维护单位、用户、诉求分类和系统配置。",
}


@router.get("/")
def home(request: Request, state: State) -> Response:
    user = auth.session_user(request, state)
    if user is None:
        return render.redirect("/login")
    cards = []
    with state.db.reading() as session:
        for key in queues.HOME[user.role]:
            queue = queues.BY_KEY[key]
            if queue.via == "overdue" and extensions.overdue_search is None:
                cards.append({"queue": queue, "count": None})
                continue
            cards.append({"queue": queue, "count": count_queue(session, user, queue, state)})
    return render.page(request, "home.html", {"cards": cards, "intro": INTRO.get(user.role.value, "")}, user=user,
                       title="首页")
