"""What the benchmark reports say about the machine they ran on (standard library only)."""

import os


def load():
    """The 1, 5 and 15 minute load averages."""
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def machine():
    """Cores usable by this process, RAM and CPU model, in one line."""
    model, ram = "unknown", "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info
                          if line.startswith("model name")), model)
        with open("/proc/meminfo") as info:
            ram = f"{int(info.readline().split()[1]) / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"nproc {len(os.sched_getaffinity(0))}, {ram} RAM, {model}, {vector_extensions()}"


def vector_extensions():
    """The CPU's AVX2 / AVX-512 / AMX flags: speeds differ up to 6x between such hosts."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = {word for line in info if line.startswith("flags") for word in line.split()}
    except OSError:
        return "vector extensions unknown"
    found = sorted(f for f in flags if f == "avx2" or f.startswith(("avx512", "amx")))
    return " ".join(found) if found else "no AVX2, AVX-512 or AMX"
