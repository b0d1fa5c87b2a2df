"""A faster path for the hot GraphQL queries, with graphql-core as the fallback.

build.py plans a validated operation once (which loads, which fields, how rows
become the response), shapes.py generates the row-to-JSON functions, run.py makes
the domain calls, and executor.py is the one place it hooks into execution.
tests/graphql/test_plan_differential.py proves the planned answers byte-equal to
graphql-core's on generated documents.
"""
