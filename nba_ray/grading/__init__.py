"""Grading (SYSTEMS.md §6): `grade` turns predictions and box scores into `prediction_accuracy` rows;
`accuracy_table` / `by_month` / `format_table` / `write_report` summarise them for people."""

from nba_ray.grading.grade import grade
from nba_ray.grading.report import accuracy_table, by_month, format_table, write_report

__all__ = ["accuracy_table", "by_month", "format_table", "grade", "write_report"]
