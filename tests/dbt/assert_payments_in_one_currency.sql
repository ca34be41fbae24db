{#- Revenue is summed without conversion, so every payment that moves money must share one currency. -#}
select count(distinct currency) as currencies, min(currency) as first_currency, max(currency) as last_currency
from {{ ref('stg_billing__payments') }}
where is_purchase or is_refund
having count(distinct currency) > 1
