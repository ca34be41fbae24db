{#- Every input payment row, typed, classified, and with the reason it is set aside (null when it is
    accepted). Rows are never dropped here. A view, as dbt staging models usually are: its one
    full reader, int_payments_summarized, reads every input row once, and storing a typed copy
    of tens of millions of rows would cost more than the rest of the build (docs/decisions.md,
    "Where the time goes"). The logic is the macro staged_payments, which an incremental run of
    int_payments_summarized applies to the new rows only. -#}
{{ config(materialized='view') }}
{{ staged_payments() }}
