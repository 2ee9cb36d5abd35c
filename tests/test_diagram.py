"""The Mermaid subset parser, the D2 sdx generates from a graph, and the edge list: golden tests on diagrams the
way small models write them (llama3.2, gpt-4o-mini and qwen2.5 answers to design questions), mistakes included.
"""

from __future__ import annotations

import re

import pytest

from sdx.domain.diagram import (
    Edge,
    Node,
    edge_list,
    group_lines,
    is_mermaid_flowchart,
    mermaid_blocks,
    parse_mermaid,
    to_d2,
    without_containers,
)

LLAMA_RATE_LIMITER = """\
graph TD
    A[Client] -->|Request| B(Load Balancer)
    B --> C[Web Server 1]
    B --> D[Web Server 2]
    C --> E[(Database)]
    D --> E
    C --> F[Cache (Redis)]
    D --> F
"""

MINI_RATE_LIMITER = """\
flowchart LR
    User[User] -->|HTTP Request| API[API Gateway]
    API --> RateLimiter{Rate Limiter}
    RateLimiter -->|Allowed| Service[Backend Service]
    RateLimiter -->|Rejected| Error[429 Too Many Requests]
    RateLimiter <--> Redis[(Redis Cache)]
"""

QWEN_URL_SHORTENER = """\
flowchart TD
    client["Client Apps"] --> cdn["CDN"]
    cdn --> lb["Load Balancer"]
    subgraph services["Application Layer"]
        api1["API Server 1"]
        api2["API Server 2"]
    end
    lb -> services
    api1 --> db[("PostgreSQL (Primary)")]
    api2 --> db
    db -.->|async replication| replica[("Read Replica")]
    api1 & api2 --> cache(("Redis"))
    api1 -- "publish click" --> kafka[/"Kafka: clicks"/]
    subgraph analytics["Analytics"]
        worker["Click Worker"]
"""


def test_a_llama_diagram_with_an_unquoted_parenthesis_is_read_and_the_repair_reported() -> None:
    parsed = parse_mermaid(LLAMA_RATE_LIMITER)

    assert parsed.errors == []
    assert parsed.repairs == ["line 7: quoted the label of 'F', which has brackets"]
    graph = parsed.graph
    assert graph is not None
    assert graph.direction == "TD"
    assert [(node.id, node.label, node.shape) for node in graph.nodes.values()] == [
        ("A", "Client", "service"),
        ("B", "Load Balancer", "service"),
        ("C", "Web Server 1", "service"),
        ("D", "Web Server 2", "service"),
        ("E", "Database", "database"),
        ("F", "Cache (Redis)", "service"),
    ]
    assert edge_list(graph) == [
        "Client → Load Balancer [Request]",
        "Load Balancer → Web Server 1, Web Server 2",
        "Web Server 1 → Database, Cache (Redis)",
        "Web Server 2 → Database, Cache (Redis)",
    ]


def test_shapes_labels_and_kinds_of_edge() -> None:
    graph = parse_mermaid(MINI_RATE_LIMITER).graph
    assert graph is not None

    assert graph.direction == "LR"
    assert graph.nodes["RateLimiter"] == Node("RateLimiter", "Rate Limiter", "decision")
    assert graph.edges[-1] == Edge("RateLimiter", "Redis", "", "both", "solid")
    assert edge_list(graph)[-1] == "Rate Limiter ↔ Redis Cache"


def test_subgraphs_are_containers_and_edge_endpoints_and_the_missing_end_is_repaired() -> None:
    parsed = parse_mermaid(QWEN_URL_SHORTENER)

    assert parsed.errors == []
    assert parsed.repairs == ["line 8: read `->` as `-->`", "line 14: closed subgraph 'analytics', which had no `end`"]
    graph = parsed.graph
    assert graph is not None
    assert list(graph.containers) == ["services", "analytics"]
    assert graph.nodes["api1"].container == "services"
    assert graph.nodes["worker"].container == "analytics"
    assert graph.nodes["db"].container is None
    assert (graph.nodes["cache"].shape, graph.nodes["kafka"].shape) == ("cache", "queue")
    assert Edge("lb", "services") in graph.edges
    assert Edge("db", "replica", "async replication", "forward", "dotted") in graph.edges
    assert edge_list(graph) == [
        "Client Apps → CDN",
        "CDN → Load Balancer",
        "Load Balancer → Application Layer",
        "API Server 1 → PostgreSQL (Primary), Redis, Kafka: clicks [publish click]",
        "API Server 2 → PostgreSQL (Primary), Redis",
        "PostgreSQL (Primary) → Read Replica [async replication]",
    ]


@pytest.mark.parametrize(
    ("source", "errors"),
    [
        ("", ["line 1: the diagram is empty"]),
        ("A --> B\n", ["line 1: a diagram starts with `flowchart TD` or `flowchart LR`"]),
        ("sequenceDiagram\n  A->>B: hi\n", ["line 1: only flowcharts can be drawn, not a sequenceDiagram"]),
        ("flowchart XY\n  A --> B\n", ["line 1: unknown direction 'XY' (use TD, LR, BT or RL)"]),
        ("graph TD\n  A[Client] --> B[Server\n", ["line 2: the label of 'B' is not closed: expected `]` to match `[`"]),
        (
            "flowchart TD\n  Load Balancer --> API\n",
            ["line 2: expected an edge such as `-->`, found 'Balancer --> API'"],
        ),
        ("flowchart TD\n  A -->\n", ["line 2: expected a node id, found the end of the line"]),
        ("flowchart TD\n  A --> B\n  end\n", ["line 3: `end` without a `subgraph` to close"]),
        (
            'flowchart TD\n  A["He said "hi" --> B\n',
            ["line 2: the label of 'A' is not closed: expected `]` to match `[`"],
        ),
        ("flowchart TD\n  A <-- B\n", ["line 2: expected an edge such as `-->`, found '<-- B'"]),
        ("flowchart TD\n  A <--- B\n", ["line 2: the edge '<---' has an arrowhead only at its start"]),
        ("flowchart TD\n  %% nothing yet\n", ["line 2: the diagram has no nodes"]),
        (
            'flowchart TD\n  x["X"]\n  subgraph x\n    y\n  end\n',
            ["line 5: 'x' is both a node and a subgraph"],
        ),
    ],
)
def test_rejected_diagrams_say_which_line_is_wrong(source: str, errors: list[str]) -> None:
    parsed = parse_mermaid(source)

    assert parsed.errors == errors
    assert parsed.graph is None


def test_every_error_is_reported_not_only_the_first() -> None:
    parsed = parse_mermaid("flowchart TD\n  A -->\n  B --> C\n  C ~~ D\n")

    assert [error.split(":")[0] for error in parsed.errors] == ["line 2", "line 4"]


@pytest.mark.parametrize(
    ("statement", "edge"),
    [
        ("A --> B", Edge("A", "B")),
        ("A ---> B", Edge("A", "B")),
        ("A --- B", Edge("A", "B", arrow="none")),
        ("A -->|reads| B", Edge("A", "B", "reads")),
        ('A -->|"reads (hot)"| B', Edge("A", "B", "reads (hot)")),
        ("A -- reads --> B", Edge("A", "B", "reads")),
        ('A -- "GET /v1/feed" --> B', Edge("A", "B", "GET /v1/feed")),
        ("A -.-> B", Edge("A", "B", line="dotted")),
        ("A -. retry .-> B", Edge("A", "B", "retry", line="dotted")),
        ("A ==> B", Edge("A", "B", line="thick")),
        ("A == hot path ==> B", Edge("A", "B", "hot path", line="thick")),
        ("A <--> B", Edge("A", "B", arrow="both")),
        ("A-->B", Edge("A", "B")),
        ("api-gw --> B", Edge("api-gw", "B")),
        ("A:::hot --> B", Edge("A", "B")),
    ],
)
def test_edge_forms(statement: str, edge: Edge) -> None:
    parsed = parse_mermaid(f"flowchart LR\n  {statement}\n")

    assert parsed.errors == []
    assert parsed.graph is not None
    assert parsed.graph.edges == [edge]


def test_chains_groups_semicolons_and_skipped_statements() -> None:
    source = (
        "graph LR;\n"
        "  A --> B --> C; C --> D\n"
        "  A & B --> E & F\n"
        "  classDef hot fill:#f96\n"
        "  class A hot\n"
        "  style B fill:#bbf\n"
        '  click A "https://evil.example" "tooltip"\n'
        "  linkStyle 0 stroke:#ff3\n"
    )
    graph = parse_mermaid(source).graph
    assert graph is not None

    assert [(edge.source, edge.target) for edge in graph.edges] == [
        ("A", "B"),
        ("B", "C"),
        ("C", "D"),
        ("A", "E"),
        ("A", "F"),
        ("B", "E"),
        ("B", "F"),
    ]
    assert list(graph.nodes) == ["A", "B", "C", "D", "E", "F"]


def test_a_later_definition_gives_a_node_its_label_and_a_subgraph_takes_nodes_named_before_it() -> None:
    source = 'flowchart TD\n  lb --> api\n  api["API (Go)"]\n  subgraph Backend\n    api\n  end\n'
    graph = parse_mermaid(source).graph
    assert graph is not None

    assert graph.nodes["api"] == Node("api", "API (Go)", "service", "Backend")
    assert graph.nodes["lb"] == Node("lb", "lb", "service", None)


def test_labels_become_lines_of_visible_text() -> None:
    source = (
        "flowchart TD\n"
        '  a["Red \x1b[31malert\x1b[0m\x07"] --> b["line one<br/>line two<BR>three <br />four\\nfive"]\n'
        '  b --> c["\u202eevil\u202c #quot;x#quot;"]\n'
    )
    graph = parse_mermaid(source).graph
    assert graph is not None

    assert graph.label("a") == "Red ^[[31malert^[[0m^G"
    assert graph.label("b") == "line one\nline two\nthree\nfour\nfive"
    assert graph.label("c") == '?evil? "x"'
    assert edge_list(graph)[0] == "Red ^[[31malert^[[0m^G → line one line two three four five"


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("A double quote:#quot;", 'A double quote:"'),  # Mermaid's own examples
        ("A dec char:#9829;", "A dec char:♥"),
        ("Step #35;1", "Step #1"),
        ("#lt;br#gt; #amp; #gt; #nbsp;x", "<br> & > x"),  # an entity's `<br>` is text, as Mermaid shows it
        ("#27;[2J #8238;rtl #10;next #0; #x41; #99999999; #nosuch;", "^[[2J ?rtl next #0; #x41; #99999999; #nosuch;"),
        ("<br><br>a<br>", "a"),
    ],
)
def test_mermaid_entity_codes_are_decoded_into_visible_text(written: str, label: str) -> None:
    graph = parse_mermaid(f'flowchart TD\n  a["{written}"] --> b[{written}]\n').graph
    assert graph is not None

    assert (graph.label("a"), graph.label("b")) == (label, label)  # quoted or not: `;` in a code ends nothing


def test_quotes_inside_a_quoted_label_and_pipes_inside_a_quoted_edge_label() -> None:
    parsed = parse_mermaid(
        'flowchart LR\n  a["He said "hi""] -->|"a | b"| b(["pick "x" or "y""]) & c\n  c -- "say #quot;no#quot;" --> a\n'
    )

    assert parsed.errors == []
    assert parsed.repairs == [
        "line 2: kept the quotes inside the label of 'a'",
        "line 2: kept the quotes inside the label of 'b'",
    ]
    assert parsed.graph is not None
    assert (parsed.graph.label("a"), parsed.graph.label("b")) == ('He said "hi"', 'pick "x" or "y"')
    assert [edge.label for edge in parsed.graph.edges] == ["a | b", "a | b", 'say "no"']


def test_a_huge_graph_parses() -> None:
    source = "flowchart TD\n" + "".join(f'  n{i}["Service {i}"] --> n{i + 1}\n' for i in range(500))
    graph = parse_mermaid(source).graph

    assert graph is not None
    assert (len(graph.nodes), len(graph.edges)) == (501, 500)


# The generated D2 ------------------------------------------------------------------------------------------------


def test_the_generated_d2_uses_sdx_ids_shapes_and_container_paths() -> None:
    graph = parse_mermaid(QWEN_URL_SHORTENER).graph
    assert graph is not None

    assert to_d2(graph) == (
        "direction: down\n"
        'c1: "Application Layer" {\n'
        '  n4: "API Server 1"\n'
        '  n5: "API Server 2"\n'
        "}\n"
        'c2: "Analytics" {\n'
        '  n10: "Click Worker"\n'
        "}\n"
        'n1: "Client Apps"\n'
        'n2: "CDN"\n'
        'n3: "Load Balancer"\n'
        'n6: "PostgreSQL (Primary)" {shape: cylinder}\n'
        'n7: "Read Replica" {shape: cylinder}\n'
        'n8: "Redis" {shape: oval}\n'
        'n9: "Kafka: clicks" {shape: queue}\n'
        "n1 -> n2\n"
        "n2 -> n3\n"
        "n3 -> c1\n"
        "c1.n4 -> n6\n"
        "c1.n5 -> n6\n"
        'n6 -> n7: "async replication" {style.stroke-dash: 3}\n'
        "c1.n4 -> n8\n"
        "c1.n5 -> n8\n"
        'c1.n4 -> n9: "publish click"\n'
    )
    assert to_d2(graph, "LR", for_text=True).splitlines()[0] == "direction: right"
    assert "shape" not in to_d2(graph, for_text=True)


HOSTILE = (
    "flowchart TD\n"
    '  a["...@/etc/passwd"] -->|"${HOME} \\\\ \\" "| b["@import x.d2"]\n'
    '  b --> c["icon: https://evil.example/x.svg; link: https://evil.example"]\n'
    '  c --> d["}\\n x: {"]\n'
    '  d --> e["|md # title|"]\n'
    "  e --> f[\"vars: {x: 1} *.style.fill: red ...${x} 'q'\"]\n"
)


def test_hostile_labels_stay_inside_quoted_d2_strings() -> None:
    graph = parse_mermaid(HOSTILE).graph
    assert graph is not None
    source = to_d2(graph)

    for line in source.splitlines()[1:]:
        # every line is `id: "…"` or `path -> path` with an optional quoted label: nothing outside the quotes
        assert re.fullmatch(r'(\w+: "(?:[^"\\]|\\.)*"|[\w.]+ -> [\w.]+(?:: "(?:[^"\\]|\\.)*")?)', line), line
    assert "\\${HOME}" in source
    assert r'n1 -> n2: "\${HOME} \\\\ \\\""' in source  # the label `${HOME} \\ \"`, every character escaped
    assert "$" not in source.replace("\\$", "")


ESCAPED = (
    "flowchart TD\n"
    '  a["#quot;a#quot; -> b"] -->|"x | y"| b["{"]\n'
    '  b --> c["|"] --> d["@import x.d2"] --> e["...@x"]\n'
    '  e -->|"$var ${x}"| f["C:\\\\temp\\\\ \\x"] --> g["two<br>lines #35; not a comment"]\n'
)


def test_escaped_and_hostile_labels_become_d2_strings_and_nothing_else() -> None:
    graph = parse_mermaid(ESCAPED).graph
    assert graph is not None

    assert to_d2(graph, for_text=True) == (
        "direction: down\n"
        'n1: "\\"a\\" -> b" {style.font-size: 20}\n'
        'n2: "{" {style.font-size: 20}\n'
        'n3: "|" {style.font-size: 20}\n'
        'n4: "@import x.d2" {style.font-size: 20}\n'
        'n5: "...@x" {style.font-size: 20}\n'
        'n6: "C:\\\\\\\\temp\\\\\\\\ \\\\x" {style.font-size: 20}\n'
        'n7: "two\\nlines # not a comment" {style.font-size: 20}\n'
        'n1 -> n2: "x | y"\n'
        "n2 -> n3\n"
        "n3 -> n4\n"
        "n4 -> n5\n"
        'n5 -> n6: "\\$var \\${x}"\n'
        "n6 -> n7\n"
    )
    assert graph.label("f") == "C:\\\\temp\\\\ \\x"  # as written: Mermaid has no backslash escapes


def test_a_graph_without_its_subgraphs_and_the_groups_in_words() -> None:
    source = (
        'flowchart TD\n  subgraph cloud["Cloud"]\n    lb["LB"]\n    subgraph a["Region A"]\n      api["API A"]\n'
        '    end\n  end\n  subgraph empty["Empty"]\n  end\n  lb --> api --> db[("DB")]\n'
    )
    graph = parse_mermaid(source).graph
    assert graph is not None

    flat = without_containers(graph)

    assert flat is not None
    assert (flat.containers, [node.container for node in flat.nodes.values()]) == ({}, [None, None, None])
    assert flat.edges == graph.edges
    assert group_lines(graph) == ["Cloud: LB, API A", "Region A (in Cloud): API A", "Empty: (empty)"]
    assert without_containers(parse_mermaid(QWEN_URL_SHORTENER).graph) is None  # an edge ends at a subgraph
    assert without_containers(parse_mermaid(LLAMA_RATE_LIMITER).graph) is None  # no subgraph to take away


# Markdown --------------------------------------------------------------------------------------------------------


def test_mermaid_blocks_in_markdown() -> None:
    markdown = (
        "## High-level design\n\n"
        "```mermaid\nflowchart LR\n  a --> b\n```\n\n"
        "```python\nprint('not a diagram')\n```\n\n"
        "~~~~ mermaid title\ngraph TD\n  c --> d\n~~~~\n"
        "text\n"
        "```mermaid\nflowchart TD\n  e --> f\n"
    )
    blocks = mermaid_blocks(markdown)

    assert [(block.source, block.closed) for block in blocks] == [
        ("flowchart LR\n  a --> b\n", True),
        ("graph TD\n  c --> d\n", True),
        ("flowchart TD\n  e --> f\n", False),
    ]
    assert markdown[blocks[0].start : blocks[0].end] == "```mermaid\nflowchart LR\n  a --> b\n```\n"
    assert blocks[2].end == len(markdown)


def test_a_bare_diagram_is_recognised() -> None:
    assert is_mermaid_flowchart("%% the design\n\nflowchart LR\n a --> b\n")
    assert not is_mermaid_flowchart("# A heading\n\n```mermaid\nflowchart LR\n```\n")


# The prompts -----------------------------------------------------------------------------------------------------


def test_the_prompts_ask_for_the_subset_with_an_example_that_parses_cleanly() -> None:
    from sdx.domain import prompts, rubric

    (example,) = mermaid_blocks(prompts.DIAGRAM_GUIDE)
    parsed = parse_mermaid(example.source)

    assert (parsed.errors, parsed.repairs) == ([], [])
    assert parsed.graph is not None
    assert {node.shape for node in parsed.graph.nodes.values()} == {"service", "database", "queue", "cache"}
    assert parsed.graph.containers and any(edge.target == "app" for edge in parsed.graph.edges)
    assert "Mermaid flowchart" in prompts.SYSTEM_PROMPT and "ASCII diagram" not in prompts.SYSTEM_PROMPT
    assert prompts.SYSTEM_PROMPT.endswith(prompts.DIAGRAM_GUIDE)
    assert rubric.interviewer_prompt("Design a URL shortener", "mid", 30).endswith(prompts.DIAGRAM_GUIDE)
