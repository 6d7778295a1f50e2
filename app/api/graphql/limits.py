"""Guardrails checked before anything runs: query depth, estimated cost, page size, one mutation per
request. Cost: every field counts 1, times the sizes of the lists above it: a connection's page size
(first; a variable counts at its default, or at the maximum page size when it has none), and a plain
list (no first) its upper bound from LIST_BOUNDS (an unlisted one at the maximum page size).

Introspection (__schema, __type) counts too, exactly: the fields its answer would hold, counted on the schema
itself (every type, field, argument it lists), so thirty aliased copies of a deep introspection cost thirty
answers and are refused like any other query that large. Only __typename stays free: a constant of its
parent, no work to answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLWrappingType,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
)
from strawberry.extensions import SchemaExtension

from app.api.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

MAX_DEPTH = 10
# Introspection's own depth: the standard query (GraphiQL's, graphql-js getIntrospectionQuery) nests a type
# reference nine levels deep under __schema.types.fields.args, 14 in all. Its cost is counted exactly, so
# this is a backstop, not what keeps it cheap.
MAX_INTROSPECTION_DEPTH = 16
_INTROSPECTION = ("__schema", "__type")
_HAS_FIELDS = {"fields": (GraphQLObjectType, GraphQLInterfaceType), "inputFields": (GraphQLInputObjectType,)}
# A province overview of 100 counties with their campaigns, progress and score subtotals is ~32 000 fields.
MAX_COST = 40_000

# Plain lists (no `first`) by the most they hold for one parent: the sizes the office works with, with a
# wide margin (a county has some dozens of units; a framework a few hundred items, a handful of sections).
# Every such list in the schema must be named here (tests/test_graphql_limits.py checks).
LIST_BOUNDS: dict[str, int] = {
    "Assignment.evidence": 50,  # materials a unit submits for one item
    "Campaign.phases": 10,
    "Campaign.reusedEvidence": 200,  # files submitted more than once in a campaign
    "Campaign.rounds": 20,  # scoring rounds: the office's, the evaluators', re-scorings
    "Campaign.followUps": 20,  # 回头看 rounds: a few a year
    "Campaign.unitRanking": 150,  # one row per unit of the county (罗平 has 60)
    "CampaignItem.assignments": 50,  # the lead and co-operating units of one item (各乡镇 expands to ~20)
    "DeadlineBoard.byUnit": 200,
    "DeadlineBoard.byLevel1": 20,
    "Evidence.reusedIn": 50,  # the same document serving other items or campaigns of the county
    "Evidence.items": 20,  # the items one material request covers (陵川: at most 13)
    "Evidence.versions": 20,
    "Evidence.reviews": 40,  # each version approved, returned or reopened
    "Framework.sections": 10,
    "Framework.headings": 200,
    "ReusedFile.uses": 50,
    "Region.campaigns": 5,  # one per 示范创建 cycle (every two to three years)
    "Region.units": 200,
    "Region.unitGroups": 50,
    "ScoreSummary.vetoHits": 20,
    "ScoreSummary.level1": 10,  # 一级指标: six to eight in the national and provincial frameworks
    "ScoreSummary.level2": 100,
    "ScoringRound.scores": 500,  # one per item of the framework (the history more, but rarely asked)
    "UnitRank.deductions": 40,  # a unit's yellow and red cards in one campaign
    "Mutation.recordScores": 500,
}


def list_bound(parent: GraphQLNamedType | None, name: str, definition: GraphQLField) -> int:
    """How many items a field without `first` may return for one parent (1 when it is not a list).
    A connection's edges and nodes are its page, already counted by its first."""
    if not isinstance(get_nullable_type(definition.type), GraphQLList) or parent is None:
        return 1
    if parent.name.endswith("Connection"):
        return 1
    return LIST_BOUNDS.get(f"{parent.name}.{name}", MAX_PAGE)


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
    """Depth and cost of one operation, fragments followed, introspection counted by its answer's size."""

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
        self._depths: dict[tuple[int, str | None], int] = {}

    def fields(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset[str] = frozenset(),
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        """(field, its parent type) of a selection set, through inline fragments and fragment spreads."""
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                if sel.name.value != "__typename":  # a constant of its parent: free
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
        if field.name.value in _INTROSPECTION and parent is self.schema.query_type:
            return SchemaMetaFieldDef if field.name.value == "__schema" else TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return parent.fields.get(field.name.value)
        return None

    def _asked_type(self, field: FieldNode) -> list[GraphQLType]:
        """The type __type(name: …) describes (none when the name is unknown: its answer is null)."""
        for arg in field.arguments or ():
            value = arg.value
            name = value.value if isinstance(value, StringValueNode) else None
            if isinstance(value, VariableNode):
                name = self.variables.get(value.name.value)
            found = self.schema.get_type(name) if isinstance(name, str) else None
            return [found] if found is not None else []
        return []

    def answer_size(self, selection_set: SelectionSetNode | None, meta: str, objects: list[Any], budget: int) -> int:
        """How many fields an introspection selection returns for these schema objects (of the introspection type
        meta), counted on the schema itself; stops counting once past budget."""
        total = 0
        for f, _ in self.fields(selection_set, self.schema.get_type(meta)):
            total += len(objects)
            if f.selection_set is not None and objects and total <= budget:
                child_meta, children = self._described(meta, f.name.value, objects)
                total += self.answer_size(f.selection_set, child_meta, children, budget - total)
            if total > budget:
                break
        return total

    def _described(self, meta: str, name: str, objects: list[Any]) -> tuple[str, list[Any]]:
        """The introspection type and the schema objects a field of objects lists (their answer's children)."""
        if meta == "__Schema":
            if name == "types":
                return "__Type", list(self.schema.type_map.values())
            if name == "directives":
                return "__Directive", list(self.schema.directives)
            roots = {"queryType": self.schema.query_type, "mutationType": self.schema.mutation_type,
                     "subscriptionType": self.schema.subscription_type}  # fmt: skip
            return "__Type", [roots[name]] if roots.get(name) is not None else []
        if meta == "__Type":
            out: list[Any] = []
            for t in objects:
                if name in _HAS_FIELDS and isinstance(t, _HAS_FIELDS[name]):
                    out += t.fields.values()  # type: ignore[union-attr]
                elif name == "enumValues" and isinstance(t, GraphQLEnumType):
                    out += t.values.values()
                elif name == "interfaces" and isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
                    out += t.interfaces
                elif name == "possibleTypes" and is_abstract_type(t):
                    out += self.schema.get_possible_types(t)
                elif name == "ofType" and isinstance(t, GraphQLWrappingType):
                    out.append(t.of_type)
            child = {"fields": "__Field", "inputFields": "__InputValue", "enumValues": "__EnumValue"}
            return child.get(name, "__Type"), out
        if name == "args":  # of a __Field or a __Directive
            return "__InputValue", [a for o in objects for a in o.args.values()]
        if name == "type":  # of a __Field or an __InputValue
            return "__Type", [o.type for o in objects]
        return meta, []

    def depth(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        # a fragment's selection is measured once per parent type, however many aliases spread it
        known = self._depths.get((id(selection_set), parent.name if parent else None))
        if known is not None:
            return known
        deepest = 0
        for f, p in self.fields(selection_set, parent):
            definition = self._definition(f, p)
            child = get_named_type(definition.type) if definition else None
            deepest = max(deepest, 1 + self.depth(f.selection_set, child))
        self._depths[(id(selection_set), parent.name if parent else None)] = deepest
        return deepest

    def cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, times: int) -> int:
        total = 0
        for f, p in self.fields(selection_set, parent):
            total += times
            if f.name.value in _INTROSPECTION and p is self.schema.query_type:
                described = [self.schema] if f.name.value == "__schema" else self._asked_type(f)
                meta = "__Schema" if f.name.value == "__schema" else "__Type"
                # counted only as far as the limit: thirty copies are refused after the first few
                total += times * self.answer_size(f.selection_set, meta, described, max(MAX_COST - total, 0))
                continue
            definition = self._definition(f, p)
            if f.selection_set is None or definition is None:
                continue
            if "first" in definition.args:
                size = max(_first(f, self.variables, self.defaults), 1)
            else:
                size = list_bound(p, f.name.value, definition)
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
            for f, p in measure.fields(node.selection_set, root):
                definition = measure._definition(f, p)  # noqa: SLF001 - the same module
                depth = 1 + measure.depth(f.selection_set, get_named_type(definition.type) if definition else None)
                most = MAX_INTROSPECTION_DEPTH if f.name.value in _INTROSPECTION else MAX_DEPTH
                if depth > most:
                    self._refuse(node, "query_too_deep", f"查询嵌套 {depth} 层，超过上限 {most} 层，请拆分查询")
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
