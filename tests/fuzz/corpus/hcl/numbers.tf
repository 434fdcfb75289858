a = 1e
b = 1.e3
c = 0x10
