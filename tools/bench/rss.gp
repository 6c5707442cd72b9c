# rss.gp - resident memory over time in bench_phases, one line per
# allocator, and the live bytes (dashed) under them (tools/bench/run.sh
# passes datafile and outfile; summarize.py writes the blocks of rss.dat,
# each headed by its name, the live bytes last).
if (!exists("datafile")) datafile = 'out/bench/rss.dat'
if (!exists("outfile")) outfile = 'out/bench/rss.png'
set terminal pngcairo noenhanced size 1200,600 font ",10"
set output outfile
set title "RSS over time: build small blocks, free 90%, mid-size, large, idle (lower is better)"
set xlabel "seconds since start"
set ylabel "MiB"
set grid
set key top left
stats datafile using 1 nooutput
last = STATS_blocks - 1
plot for [i=0:last-1] datafile index i using 1:2 with lines lw 2 title columnheader(1), \
     datafile index last using 1:2 with lines dt 2 lw 2 lc "black" title "live bytes"
