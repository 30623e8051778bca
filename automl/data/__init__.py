"""Stage 1: read and check the input, type the columns, split the rows."""

from .checks import check_choice, check_column, check_number, check_target, drop_missing_target, infer_task, read_table
from .dataset import Dataset, encode_target, holdout_share, make_dataset, sample_rows, split_rows
from .schema import ColumnDecision, Schema, infer_schema

__all__ = [
    "ColumnDecision", "Dataset", "Schema", "check_choice", "check_column", "check_number", "check_target",
    "drop_missing_target", "encode_target", "holdout_share", "infer_schema", "infer_task", "make_dataset",
    "read_table", "sample_rows", "split_rows",
]
