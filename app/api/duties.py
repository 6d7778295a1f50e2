"""三员分立 (issue 23): which of the three administrators may call each route. Every route of the app is named
here once, with the one administrator duty that may use it (SYSTEM, SECURITY, AUDIT), or EVERY (any account:
logging in, one's own identity and password, routes without a bearer token) or NONE (no administrator: the
counties' own work no administrator ever did). A route missing here refuses every administrator, and
tests/test_duties.py fails naming it.

The system administrator keeps what the single `admin` of before could do across counties, except the audit
trail (the audit administrator's) and the security work (the security administrator's); the business rules of
each service (an office's county, a liaison's unit) still decide what the other roles may do."""

from __future__ import annotations

from fastapi import Request

from app.models.user import ADMIN_DUTIES, Role
from app.services.errors import Forbidden

API = "/api/v1"
SYSTEM, SECURITY, AUDIT = Role.system_admin, Role.security_admin, Role.audit_admin
EVERY, NONE = "every", "none"
NAMES = {SYSTEM: "系统管理员", SECURITY: "安全管理员", AUDIT: "安全审计员"}

# The system administrator: accounts, units, regions, frameworks, calendar, webhooks, and the counties' data it
# always could read and act on.
_SYSTEM = """
GET /users
POST /users
POST /users/{user_id}/password
GET /regions
POST /regions
PATCH /regions/{region_id}
GET /frameworks
POST /frameworks
GET /frameworks/template.xlsx
GET /frameworks/{framework_id}
DELETE /frameworks/{framework_id}
GET /frameworks/{framework_id}/export.xlsx
GET /frameworks/{framework_id}/headings
GET /frameworks/{framework_id}/items
GET /frameworks/{framework_id}/materials
GET /frameworks/{framework_id}/sections
GET /counties/{county_id}/unit-groups
POST /counties/{county_id}/unit-groups
GET /counties/{county_id}/units
POST /counties/{county_id}/units
GET /counties/{county_id}/units.xlsx
POST /counties/{county_id}/units/import
GET /unit-groups/{group_id}
PATCH /unit-groups/{group_id}
GET /calendar/years
PUT /calendar/years/{year}
GET /calendar/due
GET /calendar/units/{unit_id}/link
GET /webhooks
POST /webhooks
DELETE /webhooks/{webhook_id}
GET /webhooks/{webhook_id}/deliveries
GET /campaigns
POST /campaigns
GET /campaigns/{campaign_id}
PUT /campaigns/{campaign_id}/assessment-period
GET /campaigns/{campaign_id}/assignments
POST /campaigns/{campaign_id}/assignments
GET /campaigns/{campaign_id}/deadlines
POST /campaigns/{campaign_id}/evaluators
GET /campaigns/{campaign_id}/evidence
GET /campaigns/{campaign_id}/evidence-package.zip
GET /campaigns/{campaign_id}/evidence/reused
GET /campaigns/{campaign_id}/evidence/search
POST /campaigns/{campaign_id}/freeze
POST /campaigns/{campaign_id}/unfreeze
GET /campaigns/{campaign_id}/late-windows
POST /campaigns/{campaign_id}/late-windows
POST /campaigns/{campaign_id}/launch
POST /campaigns/{campaign_id}/carry-over/preview
POST /campaigns/{campaign_id}/carry-over
GET /campaigns/{campaign_id}/launch-report
GET /campaigns/{campaign_id}/ledger.xlsx
GET /campaigns/{campaign_id}/progress
GET /campaigns/{campaign_id}/problem-pool
GET /campaigns/{campaign_id}/follow-ups
POST /campaigns/{campaign_id}/follow-ups
GET /campaigns/{campaign_id}/rectifications
POST /campaigns/{campaign_id}/rectifications
GET /campaigns/{campaign_id}/rounds
POST /campaigns/{campaign_id}/rounds
GET /campaigns/{campaign_id}/scoring
PUT /campaigns/{campaign_id}/scoring
GET /campaigns/{campaign_id}/self-assessment-template
PUT /campaigns/{campaign_id}/self-assessment-template
DELETE /campaigns/{campaign_id}/self-assessment-template
GET /campaigns/{campaign_id}/self-assessment-template.docx
GET /campaigns/{campaign_id}/self-assessment.docx
GET /assignments/{assignment_id}
PATCH /assignments/{assignment_id}
GET /assignments/{assignment_id}/evidence
GET /assignments/{assignment_id}/figures
GET /evidence/{evidence_id}
POST /evidence/{evidence_id}/reviews
GET /evidence/{evidence_id}/versions/{number}/content
GET /evidence/{evidence_id}/versions/{number}/content.jpg
GET /evidence/{evidence_id}/versions/{number}/link
GET /evidence/{evidence_id}/versions/{number}/preview.png
GET /rectifications/{rectification_id}
POST /rectifications/{rectification_id}/verify
POST /rectifications/{rectification_id}/reopen
GET /rectifications/{rectification_id}/history
GET /follow-ups/{follow_up_id}
GET /follow-ups/{follow_up_id}/checks
GET /follow-up-checks/{check_id}
GET /campaigns/{campaign_id}/supervision-rules
PUT /campaigns/{campaign_id}/supervision-rules
GET /campaigns/{campaign_id}/lights
GET /campaigns/{campaign_id}/notices
GET /campaigns/{campaign_id}/notice-template.docx
PUT /campaigns/{campaign_id}/notice-template
DELETE /campaigns/{campaign_id}/notice-template
GET /campaigns/{campaign_id}/units/ranking
GET /notices/{notice_id}
GET /notices/{notice_id}/document.docx
GET /rounds/{round_id}/report
GET /rounds/{round_id}/report.xlsx
GET /rounds/{round_id}/scores
POST /rounds/{round_id}/scores
POST /rounds/{round_id}/release
POST /graphql
"""

# The security administrator: password and lockout policy, unlocks, role grants, token revocation, ending
# anyone's login session.
_SECURITY = """
GET /security/password-policy
PUT /security/password-policy
GET /security/accounts
POST /security/accounts/{user_id}/unlock
PUT /security/accounts/{user_id}/role
POST /security/script-tokens/{token_id}/revoke
GET /sessions
DELETE /sessions/{session_id}
"""

# The audit administrator: reads and exports the audit trail and its daily roots, verifies the chain; changes
# nothing.
_AUDIT = """
GET /audit
GET /audit/roots
GET /audit/verify
GET /audit/export
"""

# Any account (and the routes a bearer token never reaches: the logins, signed links, feeds, health): its own
# login sessions and password.
_EVERY = """
POST /auth/token
POST /auth/refresh
POST /auth/logout
GET /auth/oidc/login
GET /auth/oidc/callback
POST /auth/dingtalk
GET /me
POST /me/password
GET /me/sessions
DELETE /me/sessions/{session_id}
GET /downloads/{version_id}
PUT /uploads/{intent_id}/content
PUT /uploads/{intent_id}/parts/{number}
GET /calendar/units/{unit_id}/deadlines.ics
GET /healthz
GET /readyz
GET /metrics
"""

# No administrator: a liaison's own work (submitting, figures, answering a rectification) and its to-do list.
_NONE = """
GET /me/assignments
POST /assignments/{assignment_id}/evidence
POST /assignments/{assignment_id}/evidence/file
POST /assignments/{assignment_id}/evidence/uploads
POST /assignments/{assignment_id}/figures
POST /evidence/{evidence_id}/uploads
POST /evidence/{evidence_id}/versions
POST /evidence/{evidence_id}/versions/file
PATCH /evidence/{evidence_id}/versions/{number}
POST /evidence/{evidence_id}/versions/{number}/withdraw
POST /uploads/{intent_id}/complete
GET /uploads/{intent_id}/parts
POST /rectifications/{rectification_id}/progress
POST /follow-up-checks/{check_id}
POST /notices/{notice_id}/receipt
"""


def _full(line: str) -> str:
    method, path = line.split()
    return f"{method} {path if path.startswith(('/healthz', '/readyz', '/metrics', '/graphql')) else API + path}"


ROUTES: dict[str, str] = {}
for _who, _lines in ((SYSTEM, _SYSTEM), (SECURITY, _SECURITY), (AUDIT, _AUDIT), (EVERY, _EVERY), (NONE, _NONE)):
    for _line in _lines.strip().splitlines():
        assert _full(_line) not in ROUTES, f"{_line} is mapped twice"
        ROUTES[_full(_line)] = _who


def refuse_outside_duty(role: str, method: str, path: str) -> None:
    """Forbidden (duty_refused) when role is an administrator's and the route ("GET /api/v1/…") is not its duty's."""
    if role not in ADMIN_DUTIES:
        return
    owner = ROUTES.get(f"{'GET' if method == 'HEAD' else method} {path}", NONE)
    if owner in (EVERY, role):
        return
    whose = f"属于{NAMES[owner]}的职责" if owner in NAMES else "不属于任何管理员的职责"  # type: ignore[index]
    raise Forbidden(f"三员分立：{NAMES[Role(role)]}不能使用此功能（{whose}）", code="duty_refused")


def refuse_outside_route_duty(role: str, request: Request) -> None:
    """refuse_outside_duty for the route the request matched (its path as declared, with the API's prefix)."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or request.url.path
    if not path.startswith(API):
        path = API + path
    refuse_outside_duty(role, request.method, path)
