# Turns a file into a C array: cmake -DIN=file -DOUT=file.c -P embed.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n#include <stddef.h>\n")
file(APPEND ${OUT} "const unsigned char cn_divisions_csv[] = {${body}0x00};\n")
file(APPEND ${OUT} "const size_t cn_divisions_csv_len = ${size};\n")
