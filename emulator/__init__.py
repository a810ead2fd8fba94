"""A local emulator of Huawei OceanConnect (iocm v1) and OneNET NB-IoT, with sleepy devices,
an accelerated clock, injectable faults and a ground-truth API. See emulator/README.md.
"""
