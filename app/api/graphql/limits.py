"""Guardrails checked before anything runs: query depth, estimated cost, page size, one mutation per
request. Cost: every field counts 1, times the page sizes (first) of the connections above it; a
variable counts at its default, or at the maximum page size when it has none (worst case)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from app.api.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_DEPTH = 10
MAX_COST = 20_000


def _first(field: FieldNode, variables: dict[str, Any], defaults: dict[str, Any]) -> int:
    """The page size a connection field asks for (the default page when it names none)."""
    for arg in field.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            name = arg.value.name.value
            value = variables.get(name, defaults.get(name))
            return int(value) if isinstance(value, int) else MAX_PAGE
        return MAX_PAGE
    return DEFAULT_PAGE


class _Measure:
    """Depth and cost of one operation, fragments followed, introspection fields left out."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        defaults: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults

    def fields(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset[str] = frozenset(),
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        """(field, its parent type) of a selection set, through inline fragments and fragment spreads."""
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                if not sel.name.value.startswith("__"):  # introspection is free (GraphiQL needs it)
                    yield sel, parent
            elif isinstance(sel, InlineFragmentNode):
                yield from self.fields(sel.selection_set, self._type(sel.type_condition, parent), seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                fragment = self.fragments.get(sel.name.value)
                if fragment is not None:
                    condition = self._type(fragment.type_condition, parent)
                    yield from self.fields(fragment.selection_set, condition, seen | {sel.name.value})

    def _type(self, condition: NamedTypeNode | None, parent: GraphQLNamedType | None) -> GraphQLNamedType | None:
        return self.schema.get_type(condition.name.value) if condition is not None else parent

    def _definition(self, field: FieldNode, parent: GraphQLNamedType | None) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return parent.fields.get(field.name.value)
        return None

    def depth(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        deepest = 0
        for f, p in self.fields(selection_set, parent):
            definition = self._definition(f, p)
            child = get_named_type(definition.type) if definition else None
            deepest = max(deepest, 1 + self.depth(f.selection_set, child))
        return deepest

    def cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, times: int) -> int:
        total = 0
        for f, p in self.fields(selection_set, parent):
            total += times
            definition = self._definition(f, p)
            if f.selection_set is None or definition is None:
                continue
            paged = "first" in definition.args
            size = max(_first(f, self.variables, self.defaults), 1) if paged else 1
            total += self.cost(f.selection_set, get_named_type(definition.type), times * size)
        return total


def _rule(variables: dict[str, Any]) -> type[ASTValidationRule]:
    class QueryLimits(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            doc = context.document
            self.fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            defaults = {
                v.variable.name.value: int(v.default_value.value)
                for v in node.variable_definitions or ()
                if isinstance(v.default_value, IntValueNode)
            }
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            measure = _Measure(schema, self.fragments, variables, defaults)
            if node.operation == OperationType.MUTATION and len(list(measure.fields(node.selection_set, root))) > 1:
                self._refuse(node, "mutation_count", "每次请求只能包含一项修改操作，请分开提交")
            depth = measure.depth(node.selection_set, root)
            if depth > MAX_DEPTH:
                self._refuse(node, "query_too_deep", f"查询嵌套 {depth} 层，超过上限 {MAX_DEPTH} 层，请拆分查询")
                return
            cost = measure.cost(node.selection_set, root, 1)
            if cost > MAX_COST:
                message = f"查询预计返回约 {cost} 个字段，超过上限 {MAX_COST}，请减小 first 或拆分查询"
                self._refuse(node, "query_too_costly", message)

        def _refuse(self, node: OperationDefinitionNode, code: str, message: str) -> None:
            self.report_error(GraphQLError(message, node, extensions={"code": code, "status": 400}))

    return QueryLimits


class QueryLimits(SchemaExtension):
    """Adds the limits rule, bound to this operation's variables, to validation."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = (*ctx.validation_rules, _rule(ctx.variables or {}))
        yield
