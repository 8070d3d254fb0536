"""Grading (SYSTEMS.md §6): `grade` turns predictions and box scores into `prediction_accuracy` rows;
`accuracy_table` / `by_month` / `format_table` / `write_report` summarise them for people."""

from nba_ray.grading.grade import grade
from nba_ray.grading.report import write_report
from nba_ray.grading.tables import accuracy_table, by_month, format_table

__all__ = ["accuracy_table", "by_month", "format_table", "grade", "write_report"]
