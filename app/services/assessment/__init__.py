"""Scoring (评估打分): the configuration in force (scoring_config), rounds and append-only scores
(scoring), releasing a round with its stored figures (release), reported figures for quantified items
(figures), the rolled-up report (score_report) and its .xlsx (score_sheet).

May call: review, notifications, campaign, indicators, platform and the foundation modules."""
