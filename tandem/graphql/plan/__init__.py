"""A faster path for the hot GraphQL queries, with graphql-core as the fallback.

roots.py plans a query's root fields once (which resolver, with which arguments),
build.py compiles each root field's selection into completers (how a value becomes
the response), run.py awaits what they find, and executor.py is the one place it
hooks into execution.
tests/graphql/test_plan_differential.py proves the planned answers byte-equal to
graphql-core's on generated documents.
"""
