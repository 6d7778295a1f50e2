"""Unified login (统一身份认证): OpenID Connect (oidc) and 钉钉/浙政钉 免登 (dingtalk), beside passwords. Each proves
who someone is at an external provider; identities finds the account, and sessions.start answers the login."""
