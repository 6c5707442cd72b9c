# sweep.gp - heat-map of the sweep: HAKMEM / best peer per cell (size band x
# threads), green where HAKMEM leads, red where it trails; the cell shows
# the ratio and, below it, the lower end of its 95% interval.
# tools/bench/run.sh passes datafile and outfile; summarize.py writes the
# axes into sweep_tics.gp beside the data.
if (!exists("datafile")) datafile = 'out/bench/sweep.dat'
if (!exists("outfile")) outfile = 'out/bench/sweep.png'
set terminal pngcairo noenhanced size 900,700 font ",10"
set output outfile
set title "HAKMEM (preloaded) / best peer, ops/s (sweep; lower end of the 95% CI below)"
set xlabel "threads"
set ylabel "size band"
load sprintf("%s/sweep_tics.gp", system("dirname '" . datafile . "'"))
set cbrange [-2:2]
set cbtics ("1/4" -2, "1/2" -1, "1" 0, "2" 1, "4" 2)
set cblabel "hakmem / best peer (log scale)"
set palette defined (-2 "#b2182b", -1 "#ef8a62", 0 "#f7f7f7", 1 "#67a9cf", 2 "#1a9850")
set palette maxcolors 0
unset key
plot datafile using 1:2:3 with image, \
     '' using 1:2:(sprintf("%s\n(%s)", strcol(4), strcol(5))) with labels
