{% test unique_combination(model, columns) %}
{#- Fails with each combination of `columns` that appears more than once (a composite key). -#}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
