#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Differential check of the write script (daemon/store.c, store_lua_write)
between two revisions: runs both on a private redis-server over the same
random inputs (absent, hash, string, list and HyperLogLog keys, with and
without a TTL; non-integer and near-2^63 counters; random H/I/P operations,
TTL lists and kpos) and compares each reply and every key after it.  Exits
1 on any difference.  For changes to the script that must keep its
semantics.

usage: tools/script-diff.py [OLD_REV [NEW_REV|-]] [--seed N] [--runs N]
       (default: HEAD against the working tree)"""
import argparse, os, random, re, shutil, socket, subprocess, sys, tempfile, time


def script_of(rev):
    """The write script's Lua text at rev ('-': the working tree)."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if rev == '-':
        src = open(os.path.join(top, 'daemon/store.c')).read()
    else:
        src = subprocess.check_output(['git', '-C', top, 'show',
                                       rev + ':daemon/store.c']).decode()
    m = re.search(r'store_lua_write\[\] =\n(.*?);\n', src, re.S)
    lines = re.findall(r'^"(.*)"\s*$', m.group(1), re.M)
    return ''.join(l.encode().decode('unicode_escape') for l in lines)


def start_redis():
    """A private redis-server on a free port; (process, port, dir)."""
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    s.close()
    d = tempfile.mkdtemp()
    p = subprocess.Popen(['redis-server', '--port', str(port), '--save', '',
                          '--appendonly', 'no', '--dir', d],
                         stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            return p, port, d
        except OSError:
            time.sleep(0.05)
    sys.exit('script-diff: redis-server did not start')

# minimal RESP client
class R:
    def __init__(s, port): s.sk=socket.create_connection(('127.0.0.1',port)); s.f=s.sk.makefile('rb')
    def cmd(s,*a):
        out=b'*%d\r\n'%len(a)
        for x in a:
            x=x if isinstance(x,bytes) else str(x).encode()
            out+=b'$%d\r\n%s\r\n'%(len(x),x)
        s.sk.sendall(out); return s.rd()
    def rd(s):
        l=s.f.readline()[:-2]; t=l[:1]; r=l[1:]
        if t==b'+': return r.decode()
        if t==b'-': return ('ERR', r.decode())
        if t==b':': return int(r)
        if t==b'$':
            n=int(r)
            if n<0: return None
            d=s.f.read(n+2)[:-2]; return d
        if t==b'*':
            n=int(r)
            if n<0: return None
            return [s.rd() for _ in range(n)]
ap = argparse.ArgumentParser()
ap.add_argument('old', nargs='?', default='HEAD')
ap.add_argument('new', nargs='?', default='-')
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--runs', type=int, default=4000)
args = ap.parse_args()
old = script_of(args.old); new = script_of(args.new)
proc, port, tmpd = start_redis()
r = R(port)
so=r.cmd('SCRIPT','LOAD',old); sn=r.cmd('SCRIPT','LOAD',new)
rng=random.Random(args.seed)
FIELDS=['a','b','pv','plan','kpos']
def ival():
    return rng.choice(['0','1','-5','123','9223372036854775000','-9223372036854775000','999999999999999999','1000000000000000000','many','1.5','007','-0',' 1','','12345678901234567890123','9223372036854775807','150000000000000000','-150000000000000000'])
def prestate(k, first):
    c=rng.random()
    if c<0.3: return
    if c<0.7 or first:
        kv=[]
        for f in rng.sample(FIELDS, rng.randint(1,4)): kv+= [f, ival()]
        if first and rng.random()<0.6: kv+=['kpos','7:1']
        r.cmd('HSET',k,*kv)
    elif c<0.8: r.cmd('SET',k,rng.choice(['x','HYLLfake']))
    elif c<0.88: r.cmd('RPUSH',k,'x')
    else: r.cmd('PFADD',k,'e1','e2')
    if rng.random()<0.5: r.cmd('EXPIRE',k,1000)
def delta():
    return rng.choice(['1','-1','17','0','9000000000000000000','-9000000000000000000','300','999999999999999999','-1000000000000000000'])
def snap(keys):
    out=[]
    for k in keys:
        t=r.cmd('TYPE',k)
        if t=='hash': v=sorted(r.cmd('HGETALL',k)); v=list(zip(v[::2],v[1::2])) if False else sorted(zip(r.cmd('HGETALL',k)[::2], r.cmd('HGETALL',k)[1::2]))
        elif t=='string': v=r.cmd('GET',k)
        elif t=='list': v=r.cmd('LRANGE',k,0,-1)
        else: v=None
        ttl=r.cmd('TTL',k); ttl = ttl if ttl<0 else 1
        out.append((k,t,v,ttl))
    return out
bad=0; stats={}
N=args.runs
for it in range(N):
    nk=rng.choice([1,2,3,4,6,6,6,11,12])
    keys=[]
    ops=[]
    for i in range(1,nk+1): pass
    nops=rng.randint(1,5)
    for _ in range(nops):
        op=rng.choice(['H','H','I','I','P'])
        x=rng.randint(1,nk)
        n=rng.randint(1,3)
        ops.append(op); ops.append(str(x)); ops.append(str(n))
        if op=='P':
            ops += ['e%d'%rng.randint(1,5) for _ in range(n)]
        else:
            fs=rng.sample(FIELDS[:4], n) if op=='I' else [rng.choice(FIELDS[:4]) for _ in range(n)]
            for f in fs: ops += [f, delta() if op=='I' else 'v%d'%rng.randint(1,9)]
    ttlidx=','.join(str(i) for i in sorted(rng.sample(range(1,nk+1), rng.randint(0,min(3,nk)))))
    expect=rng.choice(['','7:1','7:1','7:1','7:1','7:2'])
    newk=rng.choice(['','8:1'])
    res=[]
    for db,sha in ((0,so),(1,sn)):
        r.cmd('SELECT',db); r.cmd('FLUSHDB')
        rs=random.Random(it*7+13); saved=rng; rng=rs
        keys=['t{x}:%d'%i for i in range(1,nk+1)]
        for i,k in enumerate(keys): prestate(k, i==0)
        rng=saved
        rep=r.cmd('EVALSHA',sha,nk,*keys,expect,newk,5000,ttlidx,*ops)
        if isinstance(rep,tuple): rep=(rep[0], rep[1].split(' script: ')[0])
        res.append((rep,snap(keys)))
    rep=res[0][0]; key=('ok' if rep==1 else rep[1].split(' ')[0] if isinstance(rep,tuple) else str(rep))
    stats[key]=stats.get(key,0)+1
    if res[0]!=res[1]:
        bad+=1
        if bad<=5: print('DIFF', it, ops, ttlidx, expect, newk, '\n old', res[0], '\n new', res[1])
print('script-diff: %s against %s: %d of %d runs differ; replies %s' % (args.old, 'the working tree' if args.new == '-' else args.new, bad, N, stats))
proc.terminate(); proc.wait(); shutil.rmtree(tmpd)
sys.exit(1 if bad else 0)
