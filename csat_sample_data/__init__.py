"""Sample deliveries for demos, tests and benchmarks: clean data at any scale, and a dirty delivery.

A tool beside the runtime package: `csat generate` imports it when called, the pipeline never does.
It follows `dagster_project.contract` (the files it writes pass every rule, or break them on purpose).
"""

from csat_sample_data.dirty import (
    DirtyDelivery,
    ExpectedReject,
    write_columns_mismatch_file,
    write_dirty_delivery,
)
from csat_sample_data.generator import (
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
