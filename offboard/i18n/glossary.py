"""The words a person reads for the values of SPEC §3.1, in zh-CN and en: one table, used by
every page, message and export, so that no internal key reaches a sentence.

A value is named by its kind (the enum it belongs to: "member_status", "resource_kind", ...)
because the same key means different things in different kinds: `active` is 在职 for a member
and 正常 for a department. HR's words come from the seed and SPEC §2: 离职 for an exit (never
退出 alone, which reads as signing out), 办理离职 when HR or an admin handles it, 员工自助退出企业
for the member's own path, 离职继承 for inheritance.

Plain Python with no import of offboard: domain errors carry `Term` and `Terms` parameters, and
`offboard.i18n.translate` renders them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Label = tuple[str, str]  # (zh-CN, en)

GLOSSARY: dict[str, dict[str, Label]] = {
    "exit_type": {
        "voluntary": ("员工自助退出企业", "Self-service exit"),
        "removal": ("办理离职", "Exit handled by HR or an admin"),
    },
    "job_state": {
        "planned": ("待确认", "Planned, waiting for confirmation"),
        "running": ("执行中", "Running"),
        "done": ("已完成", "Done"),
        "cancelled": ("已取消", "Cancelled"),
    },
    "route": {  # where a kind of a leaver's resources goes in a combined plan (R-ORG-4)
        "acceptor": ("指定的接收人", "The acceptor named"),
        "successor": ("指定的继任者", "The successor named"),
        "manager": ("离职人的直属上级", "The leaver's manager"),
        "archive": ("企业归档空间", "Enterprise archive"),
        "delete": ("删除", "Deleted"),
        "first_member": ("最早加入的群成员", "First member who joined"),
        "unassigned": ("未分配，待继承", "Unassigned, to inherit later"),
    },
    "line_status": {
        "invalid": ("无法读取", "Cannot be read"),
        "blocked": ("无法办理", "Blocked"),
        "ready": ("待办理", "Ready"),
        "exited": ("已离职", "Exited"),
        "scheduled": ("已排期", "Scheduled"),
        "failed": ("未办成", "Failed"),
    },
    "reason_category": {
        "resignation": ("辞职", "Resignation"),
        "dismissal": ("辞退", "Dismissal"),
        "contract_end": ("合同到期", "Contract ended"),
        "retirement": ("退休", "Retirement"),
        "transfer": ("调离", "Transfer"),
        "other": ("其他", "Other"),
    },
    "trigger": {
        "self": ("成员本人", "The member themselves"),
        "admin": ("管理员", "An admin"),
        "hr": ("HR", "HR"),
        "scim": ("HR 系统(SCIM)", "HR system (SCIM)"),
        "feed": ("HR 数据同步", "HR feed"),
        "approval": ("审批流程", "Approval flow"),
        "platform": ("平台", "Platform"),
    },
    "resource_kind": {
        "external_contact": ("外部联系人", "External contact"),
        "customer_group": ("客户群", "Customer group"),
        "internal_group": ("内部群", "Internal group chat"),
        "document": ("文档", "Document"),
        "calendar": ("共享日历", "Shared calendar"),
        "approval_template": ("审批模板", "Approval template"),
        "approval_task": ("待办审批", "Pending approval"),
        "self_built_app": ("自建应用", "Self-built app"),
        "direct_report": ("直属下属", "Direct report"),
        "department_leader": ("部门负责人", "Department leadership"),
    },
    "ledger_state": {
        "pending": ("待处理", "Pending"),
        "waiting": ("等待接替", "Waiting for takeover"),
        "done": ("已完成", "Done"),
        "refused": ("已拒绝", "Refused"),
        "acceptor_full": ("接收人已满", "Acceptor full"),
        "unassigned": ("未分配", "Unassigned"),
        "kept": ("已归档", "Archived"),
        "deleted": ("已删除", "Deleted"),
        "failed": ("失败", "Failed"),
        "reverted": ("已撤回", "Reverted"),
    },
    "exit_state": {
        "scheduled": ("待生效", "Scheduled"),
        "open": ("进行中", "Open"),
        "finalized": ("已完结", "Finalized"),
        "restored": ("已恢复", "Restored"),
        "cancelled": ("已取消", "Cancelled"),
    },
    "member_status": {
        "active": ("在职", "Active"),
        "frozen": ("已冻结", "Frozen"),
        "exited": ("已离职", "Exited"),
        "finalized": ("离职已完结", "Exit finalized"),
        "erased": ("已擦除", "Erased"),
    },
    "tenant_status": {
        "active": ("正常", "Active"),
        "frozen": ("已冻结", "Frozen"),
    },
    "department_status": {
        "active": ("正常", "Active"),
        "pending_dissolution": ("待解散", "Pending dissolution"),
        "dissolved": ("已解散", "Dissolved"),
    },
    "step_kind": {
        "exit": ("离职生效", "Exit took effect"),
        "inherit": ("离职继承", "Inheritance"),
        "takeover": ("24 小时接替", "Takeover after 24 h"),
        "result": ("转接结果", "Transfer result"),
        "restore": ("恢复", "Restore"),
        "finalize": ("完结", "Finalization"),
    },
    "bulk_action": {
        "result": ("记录转接结果", "Record the outcome"),
        "reassign": ("改交他人接收", "Hand to another acceptor"),
        "inherit": ("离职继承", "Inherit"),
    },
    "action": {  # what a permission lets its holder do, as "… may not {action} here" reads it
        "plan": ("查看离职方案", "plan exits"),
        "remove": ("为他人办理离职", "handle other members' exits"),
        "voluntary_exit": ("办理本人离职", "leave the enterprise themselves"),
        "restore": ("恢复离职成员", "restore departed members"),
        "inherit": ("办理离职继承", "hand over a departed member's resources"),
        "attest_hr": ("以 HR 身份签核", "sign off as HR"),
        "attest_it": ("以 IT 身份签核", "sign off as IT"),
        "read_chats": ("查阅离职成员的聊天记录", "read departed members' chats"),
        "legal_hold": ("设置或解除法律保全", "place or release legal holds"),
        "data_requests": ("处理个人信息删除与查阅申请", "handle erasure and personal data requests"),
        "manage_admins": ("管理管理员与企业设置", "manage admins and the enterprise's settings"),
        "freeze": ("冻结账号", "freeze accounts"),
        "manage_directory": ("管理成员与部门", "manage members and departments"),
        "manage_tokens": ("管理接口令牌", "manage API tokens"),
        "read_audit": ("查看审计记录", "read the audit trail"),
        "read_directory": ("查看通讯录", "read the directory"),
        "scim": ("通过 SCIM 同步成员", "provision members through SCIM"),
        "tenant_admin": ("创建或恢复企业", "create or recover enterprises"),
        "decide_exit_requests": ("审批离职申请", "decide exit requests"),
    },
    "role": {
        "super_admin": ("超级管理员", "Super admin"),
        "admin": ("分级管理员", "Admin"),
        "hr": ("HR", "HR"),
        "it": ("IT", "IT"),
    },
    "super_admin_rank": {
        "primary": ("主管理员", "Primary"),
        "backup": ("备用管理员", "Backup"),
        "custodian": ("临时托管人", "Custodian"),
    },
    "handover_mode": {
        "dual_verification": ("双方验证，设过渡期", "both verify, with a transition window"),
        "immediate": ("立即生效", "immediate"),
        "escrow": ("临时托管", "escrow"),
    },
    "handover_state": {
        "pending": ("待接受", "waiting for acceptance"),
        "completed": ("已完成", "completed"),
        "cancelled": ("已取消", "cancelled"),
        "reverted": ("已撤回", "reverted"),
        "expired": ("已过期", "expired"),
    },
    "role_status": {
        "active": ("有效", "Active"),
        "suspended": ("已暂停", "Suspended"),
    },
    "device_status": {
        "active": ("使用中", "In use"),
        "wipe_pending": ("待擦除", "Wipe pending"),
        "wiped": ("已擦除", "Wiped"),
        "returned": ("已归还", "Returned"),
    },
    "grant_status": {
        "active": ("有效", "Active"),
        "reauth_required": ("需重新授权", "Re-authorization required"),
        "acknowledged": ("已确认", "Acknowledged"),
    },
    "reimbursement_status": {
        "open": ("未闭环", "Open"),
        "closed": ("已闭环", "Closed"),
    },
    "region": {  # data regions (R-LAW-4)
        "cn": ("中国境内", "mainland China"),
        "eu": ("欧盟", "the EU"),
        "us": ("美国", "the US"),
        "sg": ("新加坡", "Singapore"),
    },
    "legal_basis": {  # PIPL Art. 38-39: what lets personal data leave its region
        "security_assessment": ("数据出境安全评估", "security assessment"),
        "certification": ("个人信息保护认证", "certification"),
        "standard_contract": ("个人信息出境标准合同", "standard contract"),
        "separate_consent": ("个人单独同意", "the person's separate consent"),
    },
    "exit_automation": {  # SPEC §6: how exits start
        "manual": ("手动发起", "by hand"),
        "hr_sync": ("由 HR 系统同步（SCIM、离职日期）", "from the HR system (SCIM, leave dates)"),
        "approval_flow": ("由离职申请审批触发", "from an approved exit request"),
    },
    "webhook_event": {  # SPEC §9: what an endpoint may be told (offboard.domain.webhooks.EVENTS)
        "*": ("全部事件", "every event"),
        "exit.scheduled": ("已预约离职", "an exit was scheduled"),
        "exit.rescheduled": ("预约离职日期已更改", "a scheduled exit's date was moved"),
        "member.exited": ("成员离职生效", "a member's exit took effect"),
        "member.restored": ("离职成员已恢复", "a departed member was restored"),
        "member.rolled_back": ("成员的离职已撤回", "a member's exit was rolled back"),
        "exit.cancelled": ("预约离职已取消", "a scheduled exit was cancelled"),
        "exit.finalized": ("离职已归档", "an exit was finalized"),
        "resource.transferred": ("离职继承的资源已转交", "inherited resources were transferred"),
        "app.reauthorization_required": ("第三方应用需重新授权", "a third-party app must re-authorize"),
        "admin.handover.started": ("超级管理员交接已发起", "a super admin handover started"),
        "admin.handover.completed": ("超级管理员交接已完成", "a super admin handover completed"),
        "admin.handover.cancelled": ("超级管理员交接已取消", "a super admin handover was cancelled"),
        "admin.handover.reverted": ("超级管理员交接已撤回", "a super admin handover was reverted"),
        "admin.handover.window_closed": ("原超级管理员的应急期已结束", "the former super admin's emergency window closed"),
        "member.frozen": ("成员已冻结", "a member was frozen"),
        "member.unfrozen": ("成员已解冻", "a member was unfrozen"),
        "tenant.frozen": ("企业已冻结", "the enterprise was frozen"),
        "tenant.recovered": ("企业已恢复管理", "the enterprise was recovered"),
        "webhook.test": ("测试事件", "a test event"),
    },
    "webhook_status": {
        "active": ("启用", "Active"),
        "paused": ("已暂停", "Paused"),
        "removed": ("已删除", "Removed"),
    },
    "delivery_state": {  # a webhook delivery (offboard.jobs.webhooks)
        "pending": ("待发送", "Waiting to be sent"),
        "failing": ("发送失败，将重试", "Failed, will be retried"),
        "delivered": ("已送达", "Delivered"),
        "dead": ("已放弃（24 小时内未送达）", "Given up (not delivered within 24 hours)"),
    },
    "callback_refusal": {  # why a signed callback was refused (offboard.webhooks.signature.refusal)
        "malformed": ("缺少 Offboard-Signature 签名头，或格式不是 t=…,v1=…", "the Offboard-Signature header is missing or not t=…,v1=…"),
        "expired": ("签名时间与服务器时间相差超过五分钟，请在发送时签名", "the signature's time is more than five minutes from ours: sign each callback when sending it"),
        "mismatch": ("签名与请求内容不符，请用端点的密钥对原始请求体签名", "the signature does not match the body: sign the exact body with the endpoint's secret"),
    },
    "file_policy": {  # R-DATA-2: what becomes of a leaver's files
        "transfer": ("转交给接收人", "transfer to the acceptor"),
        "archive": ("保留在企业归档空间", "keep in the enterprise archive"),
        "delete": ("留存期满后删除", "delete after the retention period"),
    },
    "record_kind": {  # a departed member's records by module (offboard.domain.data_lifecycle)
        "chat": ("聊天记录", "Chat messages"),
        "files": ("文件", "Files"),
        "calendar": ("日历", "Calendars"),
        "approvals": ("审批记录", "Approval records"),
        "attendance": ("考勤记录", "Attendance records"),
        "profile": ("个人资料", "Profile"),
    },
    "erasure_step": {
        "access": ("撤销登录与授权", "Revoke access"),
        "profile": ("个人资料去标识化", "Pseudonymize the profile"),
        "shred": ("销毁数据密钥", "Destroy the data key"),
        "chat": ("删除聊天记录", "Delete chat messages"),
        "files": ("删除归档文件", "Delete archived files"),
        "calendar": ("删除日历", "Delete calendars"),
        "attendance": ("删除考勤记录", "Delete attendance records"),
        "approvals": ("审批记录", "Approval records"),
    },
    "erasure_waiting": {
        "finalization": ("离职完结后", "after the exit is finalized"),
        "hold": ("法律保全解除后", "after the legal hold is released"),
        "retention": ("留存期满后", "when the retention ends"),
        "compliant_deletion": ("保留至合规删除", "kept until a compliant deletion"),
    },
    "erasure_state": {
        "open": ("进行中", "In progress"),
        "done": ("已完成", "Done"),
        "pending": ("待执行", "Scheduled"),
        "kept": ("保留", "Kept"),
    },
    "erasure_level": {
        "L1": ("L1 仅撤销访问权限", "L1 revoke access only"),
        "L2": ("L2 个人资料去标识化", "L2 pseudonymize the profile"),
        "L3": ("L3 加密销毁个人内容", "L3 crypto-shred personal content"),
        "L4": ("L4 删除留存期外的全部数据", "L4 delete everything not under retention"),
    },
    "outbox_state": {
        "pending": ("待投递", "Pending"),
        "failing": ("投递失败,重试中", "Failing, retried"),
        "delivered": ("已投递", "Delivered"),
        "dead": ("已放弃", "Given up"),
    },
    "profile": {
        "wecom": ("企业微信", "WeCom"),
        "dingtalk": ("钉钉", "DingTalk"),
        "feishu": ("飞书", "Feishu"),
    },
    # What cannot happen to an exit or a member in its present state (domain/lifecycle.py): the
    # English words follow "it cannot".
    "lifecycle_event": {
        "take_effect": ("生效", "take effect"),
        "cancel": ("取消", "be cancelled"),
        "finalize": ("完结", "be finalized"),
        "restore": ("恢复", "be restored"),
        "exit": ("离职", "leave"),
        "freeze": ("冻结", "be frozen"),
        "unfreeze": ("解冻", "be unfrozen"),
        "erase": ("擦除", "be erased"),
        "reschedule": ("改期", "be moved to another date"),
    },
    # The 12 items of SPEC §7 (offboard.domain.checklist.ITEMS holds their numbers and owners).
    "checklist_item": {
        "external_contacts": ("外部联系人移交确认", "External contacts handed over"),
        "customer_groups": ("客户群转交", "Customer groups transferred"),
        "attendance_archived": ("打卡记录归档", "Attendance records archived"),
        "reimbursements_closed": ("报销流程闭环", "Reimbursements closed"),
        "approvals_moved": ("审批模板与待办转交", "Approval templates and tasks moved"),
        "admin_rights": ("管理员权限移交", "Admin rights handed over"),
        "self_built_apps": ("自建应用授权转移", "Self-built apps re-bound"),
        "third_party_reauth": ("第三方应用重新授权", "Third-party apps re-authorized"),
        "documents": ("文件文档按策略处理", "Documents handled by policy"),
        "calendars": ("共享日历清理", "Shared calendars cleaned up"),
        "chats_sealed": ("聊天记录加密封存", "Chats sealed"),
        "access_revoked": ("账号会话与设备注销", "Sessions, tokens and devices revoked"),
    },
    # What blocks or deserves a look in an exit plan (offboard.domain.planning Issue codes).
    "plan_issue": {
        "member_not_present": ("成员已不在企业", "Not a current member"),
        "last_super_admin": ("最后一位超级管理员", "Last super admin"),
        "super_admin_not_handed_over": ("超级管理员权限未移交", "Super admin role not handed over"),
        "handover_pending": ("权限交接待接受", "Handover waiting for acceptance"),
        "emergency_window": ("应急操作窗口", "Emergency window"),
        "acceptor_invalid": ("接收人无效", "Acceptor not usable"),
        "acceptor_is_leaver": ("接收人是离职者本人", "Acceptor is the leaver"),
        "acceptor_leaving": ("接收人也在离职", "Acceptor leaving too"),
        "unassigned_resources": ("有资源无人接收", "Resources without an acceptor"),
        "departments_pending_dissolution": ("部门将待解散", "Departments left empty"),
        "no_backup_admin": ("没有备用超级管理员", "No backup super admin"),
        "personal_tokens_in_use": ("个人 API 令牌仍在使用", "Personal API tokens in use"),
        "acceptor_near_limit": ("接收人客户将近上限", "Acceptor near the customer limit"),
    },
}

# The columns of a departures file (offboard.domain.bulk_file) as a person writes their headers;
# `acceptor` stands for the column of each resource kind (接收人:文档, acceptor:document).
GLOSSARY["bulk_column"] = {
    "userid": ("账号", "userid"),
    "type": ("离职类型", "type"),
    "reason_category": ("离职原因类别", "reason category"),
    "reason": ("离职原因", "reason"),
    "successor": ("继任者", "successor"),
    "acceptor": ("接收人:<类型>", "acceptor:<kind>"),
    "effective": ("离职日期", "effective"),
}

# What a line of the HR leave-date feed did (offboard.domain.departures.Outcome).
GLOSSARY["departure_outcome"] = {
    "scheduled": ("已排期离职", "Exit scheduled"),
    "moved": ("离职日期已更改", "Leave date moved"),
    "unchanged": ("无变化", "Unchanged"),
    "already_left": ("已离职，无需排期", "Already left"),
    "invalid": ("无法导入", "Cannot be imported"),
}

# Exit requests approved through a flow (离职申请审批, SPEC §6 `approval_flow`; offboard.domain.exit_requests).
GLOSSARY["exit_request_state"] = {
    "pending": ("审批中", "Waiting for approval"),
    "approved": ("已通过", "Approved"),
    "rejected": ("已驳回", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
    "cancelled": ("已取消", "Cancelled"),
}
GLOSSARY["approver_kind"] = {
    "manager": ("直属上级", "Manager"),
    "department_leader": ("部门负责人", "Department leader"),
    "hr": ("HR", "HR"),
    "member": ("指定审批人", "Named approver"),
}
GLOSSARY["approval_state"] = {
    "upcoming": ("未开始", "Not reached yet"),
    "waiting": ("待审批", "Waiting for a decision"),
    "approved": ("已通过", "Approved"),
    "rejected": ("已驳回", "Rejected"),
    "skipped": ("已跳过", "Skipped"),
    "closed": ("未审批", "Not decided"),
}
GLOSSARY["approval_note"] = {
    "no_manager": ("申请人没有直属上级", "The requester has no manager"),
    "no_leader": ("申请人所在部门没有负责人", "The requester's department has no leader"),
    "approver_inactive": ("审批人已不在职", "The approver is no longer active"),
    "approver_is_requester": ("审批人是申请人本人", "The approver is the requester"),
    "same_approver": ("同一审批人已在前面的步骤审批", "The same person decides an earlier step"),
    "fallback": ("其余步骤均已跳过，由 HR 审批", "Every other step was skipped, so HR decides"),
}

# Who a plan names (its blockers and warnings say "the successor", "the acceptor for documents").
GLOSSARY["plan_role"] = {"successor": ("继任者", "successor")} | {
    f"acceptor.{kind}": (f"{zh}的接收人", f"acceptor for {en[0].lower()}{en[1:]}s") for kind, (zh, en) in GLOSSARY["resource_kind"].items()
}

# The separator of a list of words in a sentence.
_LIST_SEP = {"zh-CN": "、", "en": ", "}


def term(kind: str, value: object, locale: str = "en") -> str:
    """The word for `value` of `kind` in `locale`. An unknown kind is a bug (KeyError); a value
    not in the glossary (say, a row written by a newer version) is shown as it is, and the
    glossary tests fail on any enum value without a label."""
    labels = GLOSSARY[kind]
    key = str(getattr(value, "value", value))
    label = labels.get(key)
    if label is None:
        return key
    return label[0] if locale == "zh-CN" else label[1]


def join(words: Iterable[str], locale: str = "en") -> str:
    return _LIST_SEP.get(locale, ", ").join(words)


@dataclass(frozen=True)
class Term:
    """A message parameter that is a vocabulary value: rendered as its word, per reader."""

    kind: str
    value: str

    def render(self, locale: str) -> str:
        return term(self.kind, self.value, locale)

    def __str__(self) -> str:
        return self.render("en")


@dataclass(frozen=True)
class Terms:
    """A list of vocabulary values as one message parameter, e.g. the open checklist items;
    `counts` (same order) adds how many of each."""

    kind: str
    values: tuple[str, ...]
    counts: tuple[int, ...] | None = None

    @classmethod
    def counted(cls, kind: str, counts: Mapping[str, int]) -> Terms:
        return cls(kind, tuple(str(getattr(k, "value", k)) for k in counts), tuple(counts.values()))

    def render(self, locale: str) -> str:
        words = [term(self.kind, v, locale) for v in self.values]
        if self.counts is not None:
            words = [f"{w} ({n})" for w, n in zip(words, self.counts)]
        return join(words, locale)

    def __str__(self) -> str:
        return self.render("en")


def stored(value: object) -> object:
    """A message parameter as JSON keeps it (a plan's blockers, a bulk line's outcome): a
    vocabulary value keeps its kind, so whoever reads it later sees its word (`restored`)."""
    if isinstance(value, Term):
        return {"term": value.kind, "value": value.value}
    if isinstance(value, Terms):
        return {"terms": value.kind, "values": list(value.values)}
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def restored(params: Mapping[str, object]) -> dict[str, object]:
    """Stored parameters as message parameters again (the inverse of `stored`)."""
    out: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, Mapping) and "term" in value:
            out[key] = Term(str(value["term"]), str(value["value"]))
        elif isinstance(value, Mapping) and "terms" in value:
            out[key] = Terms(str(value["terms"]), tuple(str(v) for v in value["values"]))
        else:
            out[key] = value
    return out
