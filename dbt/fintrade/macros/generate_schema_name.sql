{#
    Models land in exactly the schema their folder names (staging, core, mart), not in
    dbt's default "<target schema>_<custom schema>": the warehouse layout is part of the contract.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
