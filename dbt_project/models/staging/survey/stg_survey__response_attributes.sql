-- Response-level slice attributes (seed slice_attributes, entity survey_responses): one row per
-- response and attribute, read from the `_extra` JSON (macro
-- extra_attributes).
{{ extra_attributes(source('survey', 'survey_responses'), 'response_id', 'survey_responses') }}
