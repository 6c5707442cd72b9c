# compare.gp - grouped bars of throughput relative to mimalloc, one group
# per benchmark (tools/bench/run.sh passes datafile and outfile).
if (!exists("datafile")) datafile = 'out/bench/compare.dat'
if (!exists("outfile")) outfile = 'out/bench/compare.png'
set terminal pngcairo noenhanced size 1200,600 font ",10"
set output outfile
set title "Throughput relative to mimalloc (median ops/s; higher is better)"
set ylabel "ops/s ÷ mimalloc's ops/s (log scale)"
set logscale y
set grid ytics
set key top left horizontal
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -20 nomirror
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5
ncols = system("head -1 '" . datafile . "' | wc -w") + 0
plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i)
