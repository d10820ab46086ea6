"""Sample deliveries for demos, tests and benchmarks: clean data at any scale, and a dirty delivery."""

from dagster_project.sample_data.dirty import (
    DirtyDelivery,
    ExpectedReject,
    write_columns_mismatch_file,
    write_dirty_delivery,
)
from dagster_project.sample_data.generator import (
    DRIVER_WEIGHTS,
    ITEM_CODES,
    SLA_FIRST_RESPONSE_HOURS,
    SLA_RESOLUTION_HOURS,
    SUMMARY_FILE,
    GenerationSummary,
    generate_sample_data,
)

__all__ = [
    "DRIVER_WEIGHTS",
    "ITEM_CODES",
    "SLA_FIRST_RESPONSE_HOURS",
    "SLA_RESOLUTION_HOURS",
    "SUMMARY_FILE",
    "DirtyDelivery",
    "ExpectedReject",
    "GenerationSummary",
    "generate_sample_data",
    "write_columns_mismatch_file",
    "write_dirty_delivery",
]
