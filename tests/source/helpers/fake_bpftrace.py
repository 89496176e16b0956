#!/usr/bin/python3
"""A stand-in for bpftrace in the process supervision tests.

Called with bpftrace's argv (-f json -B line [-p PID] [-o FILE] [-c CMD]
SCRIPT|-e PROGRAM [extra...]); the script (file or -e text) is not bpftrace
code but a list of steps, one per line. Like bpftrace, records go to -o FILE
when given (else stdout):

  out TEXT           print TEXT on stdout        err TEXT      print TEXT on stderr
  attach             print bpftrace's attached_probes record
  argv               print our argv as {"argv": [...]}
  identity           print {"pid":..,"pgid":..,"stdin":..,"sigmask":..}
  blast N            print N small JSON records as fast as possible
  sleep SECONDS      pause                       pause         wait for signals forever
  ignore SIGNAME     ignore SIGINT / SIGTERM     exit CODE     exit with CODE
  kill SIGNAME       kill ourselves with the signal
  count FILE         add one to the run counter kept in FILE
  on_run N STEP...   do STEP only on run N (as counted by `count`)
  command            run the -c command (split at spaces, like bpftrace) with our
                     stdout, stderr and environment, and wait for it

Like bpftrace, SIGINT and SIGTERM print a map record and exit 0 unless ignored.
"""
import json
import os
import signal
import sys
import time


def emit(stream, text):
    stream.write(text + "\n")
    stream.flush()


events = sys.stdout  # -o FILE replaces it


def on_stop(signo, frame):
    emit(events, '{"type": "map", "data": {"@stopped_by": %d}}' % signo)
    sys.exit(0)


def main():
    args = sys.argv[1:]
    global events
    steps = None
    output = None
    command = None
    i = 0
    positional = []
    while i < len(args):
        a = args[i]
        if a in ("-f", "-B", "-p"):
            i += 2
            continue
        if a == "-o":
            output = args[i + 1]
            i += 2
            continue
        if a == "-c":
            command = args[i + 1]
            i += 2
            continue
        if a == "-e":
            steps = args[i + 1]
            i += 2
            continue
        positional.append(a)
        i += 1
    if steps is None:
        with open(positional[0]) as f:
            steps = f.read()

    if output is not None:
        events = open(output, "w")
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    run = 0
    for line in steps.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "on_run":
            if int(words[1]) != run:
                continue
            words = words[2:]
            line = " ".join(words)
        op = words[0]
        rest = line[len(op) + 1:] if len(line) > len(op) else ""
        if op == "out":
            emit(events, rest)
        elif op == "err":
            emit(sys.stderr, rest)
        elif op == "attach":
            emit(events, '{"type": "attached_probes", "data": {"probes": 1}}')
        elif op == "argv":
            emit(events, json.dumps({"argv": sys.argv[1:]}))
        elif op == "identity":
            mask = ""
            with open("/proc/self/status") as f:
                for status_line in f:
                    if status_line.startswith("SigBlk:"):
                        mask = status_line.split()[1]
            emit(events, json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0),
                                         "stdin": os.readlink("/proc/self/fd/0"), "sigmask": mask}))
        elif op == "blast":
            out = events
            for n in range(int(words[1])):
                out.write('{"type": "printf", "data": "%d"}\n' % n)
            out.flush()
        elif op == "sleep":
            time.sleep(float(words[1]))
        elif op == "pause":
            while True:
                signal.pause()
        elif op == "ignore":
            signal.signal(getattr(signal, words[1]), signal.SIG_IGN)
        elif op == "exit":
            events.flush()
            os._exit(int(words[1]))
        elif op == "kill":
            events.flush()
            os.kill(os.getpid(), getattr(signal, words[1]))
            time.sleep(5)
        elif op == "count":
            try:
                with open(words[1]) as f:
                    run = int(f.read() or "0")
            except FileNotFoundError:
                run = 0
            run += 1
            with open(words[1], "w") as f:
                f.write(str(run))
        elif op == "command":
            import subprocess  # here: startup time matters to the timing tests
            subprocess.run([w for w in command.split(" ") if w])
        else:
            emit(sys.stderr, "fake_bpftrace: unknown step " + op)
            os._exit(99)
    sys.exit(0)


if __name__ == "__main__":
    main()
