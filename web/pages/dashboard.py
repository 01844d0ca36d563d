"""The supervisors' dashboard: where cases wait, what is late, what was paid, whom it covers.

Supervisors, approvers and admins see their own region (a prefix) and may narrow it to a region
inside it (``?region=``); anything outside is 404.  The figures come from
:mod:`web.pages.dashboard_figures` (aggregate queries only), the charts from
:mod:`web.pages.dashboard_charts`; every number is also in a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import abort, current_app, render_template, request, url_for

from engine import plugins as plugin_registry
from engine.clock import to_local
from engine.errors import Conflict
from web.i18n import current_language
from web.i18n import gettext as _
from web.pages import dashboard_charts as charts
from web.pages import dashboard_figures as figures
from web.pages import supervision
from web.pages.common import SUPERVISING_ROLES, actor, page_blueprint, roles_required, services

bp = page_blueprint("dashboard", __name__)

DASHBOARD_ROLES = ("supervisor", "approver", "admin")
TOP_STAGES = 12


def months() -> tuple[str, ...]:
    return (_("1月"), _("2月"), _("3月"), _("4月"), _("5月"), _("6月"), _("7月"), _("8月"), _("9月"),
            _("10月"), _("11月"), _("12月"))


def fund_kind_label(kind: str) -> str:
    labels = {"township_reserve": _("乡镇临时救助备用金"), "county_relief": _("县级救助资金"),
              "city_relief": _("市级救助资金"), "charity_city": _("市级慈善资金"),
              "charity_county": _("县级慈善项目"), "charity_village": _("村级慈善基金")}
    return labels.get(kind, kind)


def level_label(code: str) -> str:
    """省 / 市 / 县 / 乡镇 / 村 by the length of a region code."""
    labels = {2: _("省"), 4: _("市"), 6: _("县（区）"), 9: _("乡镇（街道）"), 12: _("村（社区）")}
    return labels.get(len(code), "")


def yuan(value: Decimal) -> str:
    return _("%(amount)s 元", amount=f"{value:,.2f}")


def compact(value: Decimal) -> str:
    """A short amount for a chart label (the table has the exact one): 2900, 12.3万 / 2.9k."""
    if not value:
        return ""
    if current_language() == "en":
        return f"{value:.0f}" if value < 1000 else f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value < 10000 else f"{value / 10000:.1f}万"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(m)d 分钟", m=minutes)
    return _("%(h)d 小时 %(m)d 分", h=minutes // 60, m=minutes % 60)


def programme_names() -> dict[str, str]:
    pm = services().pm
    names = {figures.OTHER: _("其他")}
    if pm is None:
        return names
    try:
        infos = plugin_registry.programmes(pm)
    except Conflict:
        current_app.logger.exception("two plugins provide the same programme")
        return names
    english = current_language() == "en"
    names.update({code: (info.name_en if english else info.name_zh) for code, info in infos.items()})
    return names


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str = ""
    level: str = ""  # "" | ok | warn | bad
    href: str | None = None


def _scope() -> tuple[str, int]:
    who = actor()
    region = request.args.get("region", "").strip()[:12] or who.region
    if region and (not region.isdigit() or len(region) not in figures.LEVELS):
        abort(404)
    if not who.sees(region):
        abort(404)  # a region outside the user's own: never say whether it exists
    today = to_local(services().clock.now())
    year = request.args.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= today.year else today.year
    return region, year


def _crumbs(region: str) -> list[tuple[str, str, str]]:
    """(code, level name, link) from the user's own region down to ``region``."""
    own = actor().region
    trail = []
    for length in figures.LEVELS:
        if len(own) <= length <= len(region):
            code = region[:length]
            trail.append((code, level_label(code), url_for("dashboard.index", region=code)))
    return trail or [(region, level_label(region), url_for("dashboard.index"))]


def _heatmap(heat: figures.Heatmap, region: str, year: int):
    """The heatmap's SVG: each sub-region links one level down."""
    rows = [(code, url_for("dashboard.index", region=code, year=year) if len(code) > len(region) else None)
            for code in heat.rows]
    cells = {}
    for i, code in enumerate(heat.rows):
        for j, step in enumerate(heat.columns):
            cell = heat.cells.get((code, step))
            if cell:
                cells[(i, j)] = charts.HeatCell(cell.workdays, cell.tasks, _(
                    "%(region)s · %(step)s：超期 %(days)d 个工作日，%(n)d 件",
                    region=code, step=step.name, days=cell.workdays, n=cell.tasks))
    return charts.heatmap(rows, [s.name for s in heat.columns], cells, heat.maximum,
                          title=_("各辖区各环节超期工作日"), ident="chart-heat")


def _payments_chart(pay: figures.PaymentTable, programmes: dict[str, str], year: int):
    labels = [months()[int(m[5:7]) - 1] for m in pay.months]
    series = [(programmes.get(p, p), [float(pay.amounts.get((m, p), 0)) for m in pay.months])
              for p in pay.programmes]
    legend = [(programmes.get(p, p), charts.PALETTE[i % len(charts.PALETTE)])
              for i, p in enumerate(pay.programmes)]
    chart = charts.columns(labels, series, title=_("%(year)d 年各月发放金额", year=year), ident="chart-pay",
                           totals=[compact(pay.month_total(m)) for m in pay.months])
    return chart, legend


def _tiles(data: figures.Figures, escalations: dict[int, int], year: int) -> list[Tile]:
    sla = data.sla.total
    share = sla.on_time_share
    heat = data.heatmap.cells.values()
    overdue = sum(c.tasks for c in heat)
    escalated = sum(escalations.values())
    unknown = sum(c.unknown for c in data.coverage)
    em = data.emergency
    return [
        Tile(_("办理中案件"), str(sum(p.active for p in data.processes)),
             _("其中超时 %(n)d 件", n=sum(p.overdue for p in data.processes))),
        Tile(_("超期待办"), str(overdue), _("合计超期 %(n)d 个工作日", n=sum(c.workdays for c in heat)),
             "bad" if overdue else "ok"),
        Tile(_("时限按时率"), f"{share:.0%}" if share is not None else "—",
             _("按时 %(met)d · 超时 %(late)d", met=sla.met, late=sla.late),
             "" if share is None else "ok" if share >= 0.9 else "warn" if share >= 0.7 else "bad"),
        Tile(_("超时升级"), str(escalated),
             _("一级 %(a)d · 二级 %(b)d", a=escalations.get(1, 0), b=escalations.get(2, 0)),
             "bad" if escalated else "",
             url_for("supervision.escalations") if actor().role in SUPERVISING_ROLES else None),
        Tile(_("保障人数"), str(sum(c.people for c in data.coverage)),
             _("%(n)d 户", n=sum(c.households for c in data.coverage))
             + (_("（%(n)d 户未记录人数）", n=unknown) if unknown else "")),
        Tile(_("%(year)d 年已发放", year=year), yuan(data.payments.total), _("%(n)d 笔", n=data.payments.payments)),
        Tile(_("急难救助平均响应"), duration(em.average_seconds),
             _("%(n)d 件，已发放 %(paid)d 件", n=em.cases, paid=em.paid)),
    ]


@bp.get("/dashboard")
@roles_required(*DASHBOARD_ROLES)
def index():
    svc = services()
    region, year = _scope()
    now = svc.clock.now()
    with svc.db.read() as db:
        data = figures.collect(db, region, year, now, svc.calendar)
        escalations = supervision.count_by_level(db, region)
    programmes = programme_names()
    names = data.names
    stage_bars = [charts.Bar(f"{s.name} · {names.get(s.process, s.process)}", s.cases,
                             _("%(n)d 件", n=s.cases) + (_("（超期 %(n)d）", n=s.overdue) if s.overdue else ""),
                             part=s.overdue) for s in data.stages[:TOP_STAGES]]
    process_bars = [charts.Bar(names.get(p.process, p.process), p.active,
                               _("%(n)d 件", n=p.active) + (_("（超时 %(n)d）", n=p.overdue) if p.overdue else ""),
                               part=p.overdue) for p in data.processes if p.active]
    sla = data.sla.total
    pay_chart, legend = _payments_chart(data.payments, programmes, year)
    return render_template(
        "dashboard.html", data=data, region=region, year=year, this_year=to_local(now).year,
        crumbs=_crumbs(region), tiles=_tiles(data, escalations, year), names=names, programmes=programmes,
        stage_chart=charts.bars(stage_bars, title=_("办理中案件按当前环节"), ident="chart-stages"),
        process_chart=charts.bars(process_bars, title=_("办理中案件按流程"), ident="chart-processes"),
        sla_chart=charts.share(sla.met, sla.late, title=_("已停止计时的时限：按时与超时"), ident="chart-sla",
                               labels=(_("按时"), _("超时"))),
        share=sla.on_time_share, heat_svg=_heatmap(data.heatmap, region, year),
        heat_scale=charts.heat_legend(data.heatmap.maximum), pay_chart=pay_chart, legend=legend,
        yuan=yuan, duration=duration, fund_kind_label=fund_kind_label,
        row_level=level_label("0" * data.heatmap.level),
        households=sum(c.households for c in data.coverage), people=sum(c.people for c in data.coverage),
        at=to_local(now).strftime("%Y-%m-%d %H:%M"))
