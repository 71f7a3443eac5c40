/// The one stylesheet (served as /static/lv.css). Colours pair with symbols, patterns and text,
/// never carrying meaning alone; wide tables scroll on a phone; print hides navigation.
public enum Stylesheet {
    public static let css = """
    :root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --ok: #1a7f37; --no: #b42318; --unk: #7a5b00; }
    * { box-sizing: border-box; }
    body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; }
    header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
    header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
    nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin-left: auto; }
    nav .viewer { color: var(--muted); }
    form.inline { display: inline; }
    main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
    a { color: var(--accent); } a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f4b400; outline-offset: 2px; }
    .facts, .note, .id { color: var(--muted); } .id { font-size: .85rem; }
    table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .95rem; }
    caption { text-align: left; color: var(--muted); padding: .3rem 0; }
    th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    .scroll, main > table, section > table { display: block; overflow-x: auto; }
    .banner { border: 2px solid var(--unk); background: #fff8e1; padding: .5rem 1rem; margin: 1rem 0; }
    .banner h2 { margin: 0; }
    .absent { border-left: 4px solid var(--unk); padding-left: 1rem; }
    .absent-reason, .unknown { color: var(--unk); font-weight: 600; }
    .error { color: var(--no); font-weight: 600; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    form.login { display: grid; gap: .4rem; max-width: 28rem; }
    form.filter { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
    input, select, button { font: inherit; padding: .3rem .5rem; }
    button { cursor: pointer; }
    svg.chart { width: 100%; max-width: 44rem; height: auto; display: block; margin: .5rem 0; font-size: 12px; }
    svg .bar { fill: #4e79a7; } svg .value, svg .legend { fill: var(--fg); } svg .axis { fill: var(--muted); }
    svg .zero, svg .axis-line { stroke: var(--muted); stroke-width: 1; } svg .grid { stroke: #eaeef2; }
    svg .ci { stroke: var(--fg); stroke-width: 2; }
    svg .estimate.significant { fill: var(--fg); stroke: var(--fg); } svg .estimate.not-significant { fill: #fff; stroke: var(--fg); stroke-width: 2; }
    svg polyline.series, svg line.series { stroke-width: 2.5; } svg .dashed { stroke-dasharray: 6 4; }
    svg .s0 { stroke: #4e79a7; fill: #4e79a7; } svg .s1 { stroke: #e15759; fill: #e15759; } svg .s2 { stroke: #59a14f; fill: #59a14f; }
    svg .s3 { stroke: #b07aa1; fill: #b07aa1; } svg .s4 { stroke: #f28e2b; fill: #f28e2b; } svg .s5 { stroke: #76b7b2; fill: #76b7b2; }
    svg polyline.series { fill: none; }
    svg .dot { fill: #4e79a7; fill-opacity: .45; }
    svg .part { stroke: #fff; } svg .v-improved { fill: #1a7f37; } svg .v-no-change { fill: #9a6700; } svg .v-decline { fill: #b42318; }
    svg .v-ceiling { fill: #8c959f; } svg .v-not-assessed { fill: #d0d7de; }
    .ladder .symbol { display: inline-block; width: 1.2em; font-weight: 700; }
    .ladder tr.evidenced .symbol { color: var(--ok); } .ladder tr.not-evidenced .symbol { color: var(--no); } .ladder tr.not-evaluated .symbol { color: var(--unk); }
    .ladder td.rule { min-width: 14rem; max-width: 22rem; font-size: .9rem; color: var(--muted); } ul.tests { margin: 0; padding-left: 1rem; }
    #levels-table td:first-child, #gap-table td:first-child, #reach-table td:first-child { white-space: nowrap; }
    #transcript th.group { text-align: center; border-bottom: 2px solid var(--line); } #transcript .learning, #transcript .learning-start { border-left: 2px solid var(--line); }
    body.report main { max-width: 50rem; } body.report h2 { border-bottom: 1px solid var(--line); }
    @media (max-width: 40rem) { body { font-size: 15px; } th, td { padding: .3rem; } }
    @media print { header nav, .links, form { display: none; } body { font-size: 11pt; } main { max-width: none; padding: 0; }
      section, table, figure { break-inside: avoid; } a { color: var(--fg); text-decoration: none; } }
    """
}
