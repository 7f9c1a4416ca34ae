# bench/compare/threads.gp - called by scaling.sh:
#   gnuplot -e "csv='threads.csv'; png='threads.png'; cores=2; jmax=4; bs=FILES_PER_S_AT_J1; bl=GB_PER_S_AT_J1" threads.gp
set terminal pngcairo size 960,380 font 'sans,10'
set output png
set datafile separator ','
set multiplot layout 1,2 title sprintf('sigsweep verify: throughput against -j (%d cores, warm page cache, median)', cores)
set grid
set key bottom right
set xlabel 'threads (-j)'
set xrange [0.8:jmax + 0.2]
set xtics 1
set yrange [0:*]
ideal(x) = (x < 1 ? NaN : x < cores ? x : cores)
set samples 400
set title '4 KiB files, RSA-2048 signature each'
set ylabel 'files/s'
plot '< grep ^small, '.csv using 2:4 with linespoints lw 2 pt 7 title 'measured', \
     ideal(x) * bs with lines dt 2 lc rgb 'gray40' title 'linear up to the core count'
set title '64 MiB files, RSA-2048 signature each'
set ylabel 'GB/s'
plot '< grep ^large, '.csv using 2:($5 / 1e9) with linespoints lw 2 pt 7 lc 2 title 'measured', \
     ideal(x) * bl with lines dt 2 lc rgb 'gray40' title 'linear up to the core count'
unset multiplot
