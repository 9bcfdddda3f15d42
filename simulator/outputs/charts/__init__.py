"""Charts by family: `scenario` (one run), `compare` (across runs, goal-seek frontier), `sweep` (fan, indices), `maps` (county maps); `style` the house style; `warm` what a drawing process loads before the data exist.
May import what simulator.outputs may (and outputs.writers, outputs.labels); matplotlib only inside the drawing functions."""
