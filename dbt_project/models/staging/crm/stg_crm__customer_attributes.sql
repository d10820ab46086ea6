-- Customer-level slice attributes (seed slice_attributes, entity customers): one row per CRM
-- customer and attribute, read from the `_extra` JSON (macro
-- extra_attributes).
{{ extra_attributes(source('crm', 'customers'), 'customer_id', 'customers') }}
