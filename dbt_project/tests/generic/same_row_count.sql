{% test same_row_count(model, compare_model) %}
-- Fails when the model holds more or fewer rows than the model it is built from: a join that
-- dropped or repeated rows.
with

counts as (
    select
        (select count(*) from {{ model }}) as model_rows,
        (select count(*) from {{ compare_model }}) as compared_rows
)

select * from counts
where model_rows != compared_rows
{% endtest %}
