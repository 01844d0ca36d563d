"""Page text in Simplified Chinese first, English on request (a small dictionary, no compile step).

The Chinese text is the message id: templates and views call ``_("我的待办")`` and read naturally;
:data:`EN` gives the English for every such message (a test fails when one is missing).  Named
placeholders use ``%(name)s`` / ``%(n)d`` and are filled after the lookup.  The language lives in
the session (``session["lang"]``), set by the language switch in the page header; Chinese is the
default whatever the browser asks for, because that is who the caseworkers are.

Error messages of marshmallow forms arrive in English; :func:`field_message` gives the Chinese for
the common ones.
"""

from __future__ import annotations

import re
from typing import Any

from flask import has_request_context, session

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT = "zh"


def current_language() -> str:
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
    return DEFAULT


def gettext(message: str, **values: Any) -> str:
    text = EN.get(message, message) if current_language() == "en" else message
    return text % values if values else text


def html_lang() -> str:
    return "en" if current_language() == "en" else "zh-CN"


_MARSHMALLOW_ZH: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^Missing data for required field\.$", "此项为必填项。"),
    (r"^Field may not be null\.$", "此项不能为空。"),
    (r"^Not a valid integer\.$", "请填写整数。"),
    (r"^Not a valid number\.$", "请填写数字。"),
    (r"^Not a valid decimal\.$", "请填写数字（可带小数）。"),
    (r"^Not a valid string\.$", "请填写文字。"),
    (r"^Not a valid boolean\.$", "请选择“是”或“否”。"),
    (r"^Not a valid date\.$", "请填写有效日期（年-月-日）。"),
    (r"^Not a valid datetime\.$", "请填写有效的日期和时间。"),
    (r"^Not a valid email address\.$", "请填写有效的电子邮箱。"),
    (r"^Not a valid URL\.$", "请填写有效的网址。"),
    (r"^Not a valid list\.$", "请逐行填写。"),
    (r"^Not a valid mapping type\.$", "格式不正确。"),
    (r"^Unknown field\.$", "未知字段。"),
    (r"^Must be one of: (.*)\.$", r"只能选择：\1。"),
    (r"^Must be greater than or equal to (.*) and less than or equal to (.*)\.$", r"应在 \1 到 \2 之间。"),
    (r"^Must be greater than or equal to (.*)\.$", r"不能小于 \1。"),
    (r"^Must be less than or equal to (.*)\.$", r"不能大于 \1。"),
    (r"^Must be greater than (.*)\.$", r"应大于 \1。"),
    (r"^Must be less than (.*)\.$", r"应小于 \1。"),
    (r"^Shorter than minimum length (\d+)\.$", r"至少 \1 个字符。"),
    (r"^Longer than maximum length (\d+)\.$", r"最多 \1 个字符。"),
    (r"^Length must be between (\d+) and (\d+)\.$", r"长度应在 \1 到 \2 之间。"),
    (r"^Length must be (\d+)\.$", r"长度应为 \1。"),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "请填写普通数字。"),
    (r"^Invalid value\.$", "填写的值无效。"),
]]


def field_message(message: str) -> str:
    """A form field error in the page's language (marshmallow's English messages translated)."""
    if current_language() == "en":
        return EN.get(message, message)
    for pattern, replacement in _MARSHMALLOW_ZH:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


#: Chinese message → English.  Keep sorted by page, roughly; every ``_()`` string needs an entry.
EN: dict[str, str] = {
    # layout, login, errors
    "济时救": "Jishijiu",
    "社会救助经办系统": "Social assistance casework",
    "济时救 · 环环有痕迹、步步能倒查": "Jishijiu · every step leaves a trace, every step can be traced back",
    "跳到正文": "Skip to content",
    "主导航": "Main navigation",
    "待办": "Tasks",
    "流程设计": "Process design",
    "退出": "Log out",
    "登录": "Log in",
    "用户名": "User name",
    "密码": "Password",
    "请使用本人账号登录。所有操作都会记录在案。": "Log in with your own account. Every action is recorded.",
    "用户名或密码错误。连续失败 5 次后账户将锁定 15 分钟。":
        "Wrong user name or password. After 5 failures in a row the account is locked for 15 minutes.",
    "登录失败次数过多，请稍后再试。": "Too many failed logins. Please try again later.",
    "您已安全退出。": "You have logged out.",
    "未找到": "Not found",
    "没有这个页面，或者它不在您的辖区内。": "This page does not exist, or it is outside your region.",
    "无权操作": "Not allowed",
    "您的角色不能打开此页面或执行此操作。": "Your role may not open this page or do this.",
    "操作冲突": "Conflict",
    "其他人已先处理了这一项，请刷新后再试。": "Someone else has already dealt with this. Reload and try again.",
    "表单已过期": "The form has expired",
    "页面已过期或来源不明，请返回并刷新页面后重新提交。":
        "The page has expired or its origin is unknown. Go back, reload the page and submit again.",
    "文件过大": "File too large",
    "上传的文件超过了大小限制。": "The uploaded file is larger than the limit.",
    "返回首页": "Home",
    "位置": "You are here",
    # roles and states
    "村协理员": "Village assistant",
    "乡镇经办": "Township caseworker",
    "县级审核": "County approver",
    "评议委员": "Committee member",
    "督导": "Supervisor",
    "管理员": "Administrator",
    "办理中": "Active",
    "已办结": "Completed",
    "已撤销": "Cancelled",
    "出错": "Error",
    "已领取": "Claimed",
    "待办理": "Open",
    # countdowns
    "无时限": "No deadline",
    "已超期": "Overdue",
    "超期 %(n)d 个工作日": "%(n)d working days overdue",
    "今日到期": "Due today",
    "剩余 %(n)d 个工作日": "%(n)d working days left",
    "期限": "Due",
    # inbox
    "待办事项": "Tasks",
    "辖区": "Region",
    "待办分类": "Task views",
    "我的待办": "My tasks",
    "组内待领取": "Group, unclaimed",
    "即将到期": "Due soon",
    "任务名称": "Task name",
    "输入任务名称搜索": "Search by task name",
    "流程": "Process",
    "全部流程": "All processes",
    "办理组": "Group",
    "全部": "All",
    "筛选": "Filter",
    "清除": "Clear",
    "案件": "Case",
    "经办人": "Assignee",
    "未领取": "Unclaimed",
    "领取": "Claim",
    "办理": "Work on it",
    "退回": "Release",
    "转交": "Hand over",
    "转交给": "Hand over to",
    "确认转交": "Confirm hand-over",
    "查看": "View",
    "分页": "Pages",
    "上一页": "Previous",
    "下一页": "Next",
    "第 %(page)d / %(pages)d 页，共 %(total)d 项": "Page %(page)d of %(pages)d, %(total)d tasks",
    "这里暂时没有任务。": "No tasks here for now.",
    "查看组内待领取的 %(n)d 项任务": "See the %(n)d unclaimed tasks of your group",
    # task page
    "第 %(v)d 版": "version %(v)d",
    "状态": "Status",
    "待办任务": "Open tasks",
    "创建时间": "Created",
    "退回组内": "Release to the group",
    "办理表单": "Form",
    "提交时将自动领取此任务。": "Submitting claims this task for you.",
    "表单有误，尚未保存。请按提示修改后重新提交。":
        "The form has errors and nothing was saved. Correct them and submit again.",
    "这一步没有专门的表单。如需记录结果，请逐行填写字段名和值（值按文本保存）。":
        "This step has no form of its own. To record a result, enter a field name and a value per row "
        "(values are kept as text).",
    "字段名": "Field name",
    "值": "Value",
    "带 * 的为必填项。": "Fields marked * are required.",
    "提交并完成": "Submit and complete",
    "返回待办": "Back to tasks",
    "提交后本任务完成，流程进入下一步，并记入审计记录。":
        "Submitting completes this task, moves the case to its next step and is recorded in the audit trail.",
    "此任务由 %(user)s 办理。": "This task is with %(user)s.",
    "领取后即可办理。": "Claim the task to work on it.",
    "此任务由“%(group)s”组办理，您可以查看但不能办理。":
        "This task belongs to the group “%(group)s”: you may read it but not work on it.",
    "必填": "Required",
    "是": "Yes",
    "否": "No",
    "请选择": "Choose",
    "每行填写一项。": "One item per line.",
    "不是有效的 JSON。": "Not valid JSON.",
    "请填写字段名。": "Enter a field name.",
    "字段名只能用字母、数字和下划线，且不能以数字开头。":
        "A field name uses letters, digits and underscores only, and does not start with a digit.",
    "这个字段名由系统使用，不能修改。": "This field name is used by the system and cannot be changed.",
    "字段名重复。": "This field name is used twice.",
    "流程在下一步出错，本次提交未保存。请联系流程管理员。":
        "The process failed in its next step, so nothing was saved. Please contact the process administrator.",
    "已完成“%(name)s”。": "“%(name)s” is completed.",
    "这项任务已被他人领取或已办理。": "This task has been claimed by someone else or is already done.",
    "已领取“%(name)s”。": "You claimed “%(name)s”.",
    "这项任务已有变化，请刷新后再试。": "This task has changed. Reload and try again.",
    "已将“%(name)s”退回组内待领取。": "“%(name)s” is back with the group, unclaimed.",
    "请选择本组、本辖区内的另一位同事。": "Choose another colleague of the same group and region.",
    "已将“%(name)s”转交给 %(user)s。": "“%(name)s” was handed over to %(user)s.",
    # case page
    "家庭档案": "Household record",
    "未关联": "None",
    "立案时间": "Opened",
    "最近更新": "Last change",
    "办理进度": "Progress",
    "当前位置": "Current position",
    "当前位置：": "Now at: ",
    "已走过的路径": "Path taken",
    "计时中": "Timer running",
    "本案已办结。": "This case is completed.",
    "流程图，可左右滚动": "Process diagram; scrolls sideways",
    "流程图无法显示。": "The diagram cannot be shown.",
    "没有待办任务。": "No open tasks.",
    "家庭成员": "Household members",
    "姓名": "Name",
    "关系": "Relation",
    "性别": "Sex",
    "出生日期": "Date of birth",
    "身份证号": "ID number",
    "健康与残疾": "Health and disability",
    "已记录查看": "viewing recorded",
    "查看将记入审计记录": "Viewing is recorded in the audit trail",
    "显示": "Show",
    "点击“显示”查看完整身份证号，每次查看都会记入审计记录。":
        "“Show” reveals the full ID number; every time is recorded in the audit trail.",
    "案件数据": "Case data",
    "办理记录": "History",
    "逐条核对了哈希链": "Every event's hash was checked",
    "审计链完整": "Audit chain intact",
    "审计链异常": "Audit chain broken",
    "立案，流程启动": "Case opened, process started",
    "办结": "Completed",
    "撤销": "Cancelled",
    "领取任务": "Task claimed",
    "退回任务": "Task released",
    "转交任务": "Task handed over",
    "完成任务": "Task completed",
    "任务取消": "Task cancelled",
    "计时到期": "Timer fired",
    "收到消息": "Message received",
    "查看完整身份证号": "Full ID number viewed",
    "超时升级": "Escalated",
    "时限预警": "Deadline warning",
    "发放": "Payment",
    "修改数据": "Data changed",
    "计时器": "Timer",
    "成员": "Member",
    "本案未关联家庭档案。": "This case has no household record.",
    "家庭档案模块尚未启用。": "Household records are not available yet.",
    "家庭档案不在您的辖区内或已不存在。": "The household record is outside your region or no longer exists.",
    "您的角色不能查看家庭档案。": "Your role may not read household records.",
    "残疾：%(kind)s %(grade)s 级": "Disability: %(kind)s, grade %(grade)s",
    "重病": "Critical illness",
    "生活不能自理 %(n)d 项": "Cannot manage %(n)d daily activities",
    "男": "M",
    "女": "F",
    "户主": "Head",
    "配偶": "Spouse",
    "子女": "Child",
    "父母": "Parent",
    "孙子女": "Grandchild",
    "祖父母": "Grandparent",
    "兄弟姐妹": "Sibling",
    "其他": "Other",
    "肢体": "physical",
    "智力": "intellectual",
    "精神": "mental",
    "视力": "visual",
    "听力": "hearing",
    "言语": "speech",
    "多重": "multiple",
    # designer
    "已部署的流程": "Deployed processes",
    "上传 BPMN 文件": "Upload a BPMN file",
    "标识": "Key",
    "最新版本": "Latest version",
    "版本数": "Versions",
    "案件数（最新版）": "Cases (latest version)",
    "部署": "Deployed",
    "还没有部署任何流程。": "No process is deployed yet.",
    "上传": "Upload",
    "先校验，再部署。校验会列出文件中的每一个问题（元素和行号）；没有问题才能部署。部署会创建新版本，正在办理的案件仍按原版本继续。":
        "Validate first, then deploy. Validation lists every problem in the file (element and line); "
        "only a file without problems can be deployed. Deploying creates a new version; running cases "
        "go on with the version they started on.",
    "BPMN 文件": "BPMN file",
    "Camunda Modeler、bpmn.io 或 SpiffWorkflow 编辑器保存的 .bpmn 文件，不超过 5 MB。":
        "A .bpmn file saved by Camunda Modeler, bpmn.io or the SpiffWorkflow editor, at most 5 MB.",
    "校验": "Validate",
    "校验报告": "Validation report",
    "发现 %(n)d 个问题": "%(n)d problems found",
    "校验通过": "Valid",
    "文件": "File",
    "大小": "Size",
    "字节": "bytes",
    "元素": "Element",
    "行": "Line",
    "问题": "Problem",
    "请在建模工具中改正以上问题后重新上传。": "Correct these problems in your modeller and upload the file again.",
    "重新上传": "Upload again",
    "部署为新版本": "Deploy as a new version",
    "取消": "Cancel",
    "预览": "Preview",
    "请选择一个 BPMN 文件。": "Choose a BPMN file.",
    "已部署流程 %(key)s 第 %(version)d 版。": "Deployed %(key)s version %(version)d.",
    "内容与第 %(version)d 版相同，未创建新版本。":
        "The content is the same as version %(version)d; no new version was created.",
    "版本": "Version",
    "部署时间": "Deployed at",
    "部署人": "Deployed by",
    "案件数": "Cases",
    "最新": "latest",
    "下载 BPMN": "Download BPMN",
    "在浏览器中编辑": "Edit in the browser",
    "流程图": "Diagram",
    "编辑": "Edit",
    "在此修改后点击“校验”，通过后即可部署为新版本。属性（表单、时限、角色）请在建模工具的属性面板或 XML 中设置。":
        "Edit here, then press “Validate”; a valid diagram can be deployed as a new version. Set "
        "properties (forms, deadlines, roles) in your modeller's properties panel or in the XML.",
    "此文件没有图形布局信息，编辑器无法显示，请在建模工具中打开。":
        "This file has no diagram layout, so the editor cannot show it; open it in a modeller.",
    "编辑器无法打开此文件。": "The editor cannot open this file.",
    "浏览器编辑器未安装（scripts/web-assets.sh），请在本地建模工具中编辑后上传。":
        "The browser editor is not installed (scripts/web-assets.sh); edit in a modeller and upload the file.",
}
