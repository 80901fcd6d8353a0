# SPDX-License-Identifier: GPL-2.0-or-later
# bench/fastpass plot (the thesis' Fig. 11): transfer time against loss, one panel per
# delay, one line per configuration, from the .summary file bench/fastpass/run.sh writes
# (columns: delay_ms loss_pct CONFIG...; one block per delay, blocks separated by two
# blank lines, in the order of `delays`).
#
#   gnuplot -e "infile='X.summary'; outfile='X.png'; delays='10 50 100';" \
#           -e "configs='plain hold fastpass'; subtitle='...'" bench/fastpass/plot.gp
if (!exists("infile")) infile = 'fastpass.summary'
if (!exists("outfile")) outfile = 'fastpass.png'
if (!exists("delays")) delays = '10 50 100'
if (!exists("configs")) configs = 'plain hold fastpass'
if (!exists("subtitle")) subtitle = ''

n = words(delays)
w = n * 520
if (w < 820) w = 820
set terminal pngcairo size w, 460 font 'sans,10'
set output outfile
set multiplot layout 1, n title 'Transfer time through the gateway vs. loss (' . subtitle . ')'
set xlabel 'loss between server and gateway (%)'
set ylabel 'transfer time (s, median)'
set grid
set key top left
set yrange [0:*]
set style data linespoints
array pt[3] = [7, 5, 9]
array lc[3] = ['#444444', '#c0392b', '#2471a3']
do for [i = 1:n] {
	set title sprintf('delay %s ms', word(delays, i))
	plot for [c = 1:words(configs)] infile index (i - 1) using 2:(column(c + 2)) \
		title word(configs, c) pt pt[(c - 1) % 3 + 1] lc rgb lc[(c - 1) % 3 + 1] lw 2
}
unset multiplot
