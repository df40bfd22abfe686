{#- A template, not a script: the build renders it with the facts of kbgen/facts.py into the site's
    assets/kbgen-facts.js (kbgen.facts.BUILT_ASSETS), which kbgen-core.js reads. -#}
/* Made by kbgen build from kbgen/facts.py; change the definitions there, not this file. */
window.kbgenFacts = {{ facts.export() | tojson }};
