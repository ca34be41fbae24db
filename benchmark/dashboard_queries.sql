-- The queries of a typical retention dashboard on the published warehouse: the sample dashboard
-- `retention_dashboard` (models/marts/lifecycle/_exposures.yml). benchmark/benchmark.py runs each
-- of them many times against the warehouse it built and reports their p50 and p95 latency
-- (docs/benchmarks.md, "Dashboard queries"). Each query starts with a `-- name:` line; a customer's
-- history reads the customer `$customer_id`, which the benchmark picks from the warehouse.

-- name: cohort_matrix
-- The cohort retention heatmap: share of each cohort buying, by months since the first purchase.
select cohort_month, months_since_first, cohort_size, retention_rate, cumulative_net_revenue_per_customer
from marts.fct_cohort_retention
where is_complete
order by cohort_month, months_since_first;

-- name: churn_trend
-- Churn and retention over time, with the monthly customer bridge.
select
    month, customers_start, new_customers, reactivated_customers, churned_customers, customers_end,
    churn_rate, retention_rate, churn_rate_trailing_6m
from marts.fct_churn_monthly
order by month;

-- name: revenue_split
-- Revenue from new vs returning customers by month.
select month, first_purchase_revenue, repeat_purchase_revenue, refunds, net_revenue, average_order_value
from marts.fct_revenue_monthly
order by month;

-- name: customers_by_state
-- Today's customers by lifecycle state and type: the headline tiles.
select lifecycle_state, customer_type, count(*) as customers, sum(net_revenue) as net_revenue
from marts.dim_customers
group by lifecycle_state, customer_type
order by customers desc;

-- name: customers_by_channel_and_country
-- Where the customers in the base come from.
select acquisition_channel, country, count(*) as customers, avg(net_revenue) as average_net_revenue
from marts.dim_customers
where is_in_base
group by acquisition_channel, country
order by customers desc
limit 50;

-- name: status_mix_last_12_months
-- New, reactivated, churned, retained and lapsed customers per month over the last year.
select month, status, customers, net_revenue
from marts.fct_customer_status_monthly
where month > (select max(month) from marts.fct_customer_status_monthly) - interval 12 month
order by month, status;

-- name: customer_history
-- One customer's months: the drill-down from any list of customers.
select month, status, purchases, net_revenue, is_in_base_at_end
from marts.fct_customer_months
where customer_id = '$customer_id'
order by month;

-- name: ltv_by_channel
-- LTV four ways against acquisition cost, per acquisition channel.
select
    acquisition_channel, customers, formula_ltv, arpu_churn_ltv, realized_ltv_12m, predicted_clv,
    customer_acquisition_cost, ltv_to_cac, payback_month
from marts.fct_ltv
where grouping = 'acquisition_channel'
order by arpu_churn_ltv desc;

-- name: segment_revenue
-- Net revenue by RFM segment and month.
select month, segment, customers, net_revenue, net_revenue_share
from marts.fct_segment_monthly
where classification = 'rfm_segment'
order by month, segment;

-- name: win_back_top
-- The customers to contact now, most valuable first.
select priority, customer_id, reasons, value_at_stake, days_since_last_purchase, rfm_segment
from marts.fct_win_back_list
order by priority
limit 100;
