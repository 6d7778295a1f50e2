"""Shifan (示范): backend for a county's 法治政府建设示范创建 campaign."""
