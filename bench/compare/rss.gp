# bench/compare/rss.gp - called by scaling.sh: gnuplot -e "csv='rss.csv'; png='rss.png'" rss.gp
set terminal pngcairo size 640,400 font 'sans,10'
set output png
set datafile separator ','
set title 'sigsweep: peak RSS against file count (512-byte files, median)'
set grid
set logscale x
set format x '10^{%T}'
stats csv using 2 nooutput
set xrange [STATS_min / 2:STATS_max * 2]
set yrange [0:*]
set xlabel 'files'
set ylabel 'peak RSS (MiB)'
set key top left Left reverse
plot '< grep ^verify, '.csv using 2:($3 / 1024) with linespoints lw 2 pt 7 title 'sigsweep verify (signature per file)', \
     '< grep ^package, '.csv using 2:($3 / 1024) with linespoints lw 2 pt 5 title 'sigsweep package verify (manifest of every file)', \
     '< grep ^verify, '.csv using 2:($3 / 1024):(sprintf('%.1f', $3 / 1024)) with labels offset 0,-1 notitle, \
     '< grep ^package, '.csv using 2:($3 / 1024):(sprintf('%.1f', $3 / 1024)) with labels offset 0,1 notitle
