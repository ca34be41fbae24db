{#- Every input marketing-spend row, typed, with the reason it is set aside (null when accepted). Rows
    are never dropped here. A table, rebuilt whole every run: the input is a few rows per month and
    channel, so nothing incremental is worth storing. The logic is the macro staged_marketing_spend. -#}
{{ staged_marketing_spend() }}
