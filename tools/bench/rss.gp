# rss.gp - resident memory over time in bench_phases, one line per
# allocator, and the live bytes (dashed black) under them (tools/bench/run.sh
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
# The blocks' names, in order; each allocator keeps its colour whatever ran,
# hakmem_nolearn (the learner off) is hakmem's colour, dashed.
names = system("awk 'NF == 1 && $1 !~ /^[0-9]/' '" . datafile . "'")
name(i) = word(names, i + 1)
lt(n) = n eq "hakmem" || n eq "hakmem_nolearn" ? 1 : n eq "hakmem_static" ? 2 : \
	n eq "glibc" ? 3 : n eq "mimalloc" ? 4 : n eq "jemalloc" ? 5 : n eq "tcmalloc" ? 6 : 7
dash(n) = n eq "hakmem_nolearn" ? 2 : 1
plot for [i=0:last-1] datafile index i using 1:2 with lines lw 2 lt lt(name(i)) \
	dt dash(name(i)) title columnheader(1), \
     datafile index last using 1:2 with lines dt 2 lw 2 lc "black" title "live bytes"
