from common import *
f32=np.float32
rng=np.random.default_rng(7)
cases=[]
DT={np.uint8:('u8',TP.UINT8),np.int8:('i8',TP.INT8),np.float32:('f32',TP.FLOAT),np.int32:('i32',TP.INT32)}
def fs(x): return repr(float(f32(x)))
def qt(dt,shape,s,z): return f"{DT[dt][0]}<{fs(s)},{int(z)}>[{','.join(map(str,shape))}]"
def pt(dt,shape): return f"{DT[dt][0]}[{','.join(map(str,shape))}]"
def rnd(dt,shape):
    if dt==np.float32: return rng.uniform(-3,3,shape).astype(f32)
    i=np.iinfo(dt); return rng.integers(i.min,i.max+1,shape).astype(dt)
def add(name, ir, ins, out):
    cases.append((name, ir, ins, out))
def vals(a):
    if a.dtype==np.float32: return '['+','.join(repr(float(v)) for v in a.flatten())+']'
    return '['+','.join(str(int(v)) for v in a.flatten())+']'
def fvals(a):
    a=np.asarray(a)
    if a.dtype==np.float32: return '['+', '.join(repr(float(v)) for v in a.flatten())+']'
    return '['+', '.join(str(int(v))+'.0' for v in a.flatten())+']'
def const(name, dt, arr, q=None):
    ty = qt(dt,arr.shape,*q) if q else pt(dt,arr.shape)
    return f"  %{name}: {ty} = const {vals(arr)}\n"

# 1. QuantizeLinear u8 per tensor, i8 per axis, i4 per tensor (opset 21)
x=rng.uniform(-4,4,(2,5)).astype(f32); x.flat[0]=0.75; x.flat[1]=-1.25
for dt,tp,s,z in [(np.uint8,TP.UINT8,0.5,3),(np.int8,TP.INT8,0.03,-5)]:
    y=run([helper.make_node('QuantizeLinear',['x','s','z'],['y'])],[vi('x',TP.FLOAT,x.shape)],[vi('y',tp,None)],[t('s',np.array(s,f32)),t('z',np.array(z,dt))],feeds={'x':x})[0]
    add(f"quantize_{DT[dt][0]}", f"graph g(%x: f32[2,5]) -> (%y) {{\n  %y = QuantizeLinear(%x) {{dtype={DT[dt][0]}, scale=[{fs(s)}], zero_point=[{z}], axis=none, block_size=none}}\n}}", [('f32',x)], (DT[dt][0],y))
sc=np.array([0.02,0.05],f32); zp=np.array([1,-3],np.int8)
y=run([helper.make_node('QuantizeLinear',['x','s','z'],['y'],axis=0)],[vi('x',TP.FLOAT,x.shape)],[vi('y',TP.INT8,None)],[t('s',sc),t('z',zp)],feeds={'x':x})[0]
add("quantize_per_axis", f"graph g(%x: f32[2,5]) -> (%y) {{\n  %y = QuantizeLinear(%x) {{dtype=i8, scale=[{fs(sc[0])},{fs(sc[1])}], zero_point=[1,-3], axis=0, block_size=none}}\n}}", [('f32',x)], ('i8',y))
sc=np.array([[0.02,0.05,0.1],[0.03,0.04,0.07]],f32); zp=np.array([[1,-3,0],[2,0,-1]],np.int8)
y=run([helper.make_node('QuantizeLinear',['x','s','z'],['y'],axis=1,block_size=2)],[vi('x',TP.FLOAT,x.shape)],[vi('y',TP.INT8,None)],[t('s',sc),t('z',zp)],feeds={'x':x})[0]
add("quantize_blocked", f"graph g(%x: f32[2,5]) -> (%y) {{\n  %y = QuantizeLinear(%x) {{dtype=i8, scale=[{','.join(fs(v) for v in sc.flatten())}], zero_point=[{','.join(str(v) for v in zp.flatten())}], axis=1, block_size=2}}\n}}", [('f32',x)], ('i8',y))
# 2. DequantizeLinear per axis
q=rnd(np.uint8,(3,4)); sc=np.array([0.1,0.02,0.3],f32); zp=np.array([128,0,255],np.uint8)
y=run([helper.make_node('DequantizeLinear',['x','s','z'],['y'],axis=0)],[vi('x',TP.UINT8,q.shape)],[vi('y',TP.FLOAT,None)],[t('s',sc),t('z',zp)],feeds={'x':q})[0]
add("dequantize_per_axis", f"graph g(%x: u8<axis=0,scale=[{','.join(fs(v) for v in sc)}],zero_point=[128,0,255]>[3,4]) -> (%y) {{\n  %y = DequantizeLinear(%x)\n}}", [('u8',q)], ('f32',y))
# 3. DynamicQuantizeLinear
x=rng.uniform(-2,5,(3,7)).astype(f32)
y,ys,yz=run([helper.make_node('DynamicQuantizeLinear',['x'],['y','ys','yz'])],[vi('x',TP.FLOAT,x.shape)],[vi('y',TP.UINT8,None),vi('ys',TP.FLOAT,None),vi('yz',TP.UINT8,None)],feeds={'x':x},opset=11)
add("dynamic_quantize_linear", "graph g(%x: f32[3,7]) -> (%y, %s, %z) {\n  %y, %s, %z = DynamicQuantizeLinear(%x) @d\n}", [('f32',x)], ('u8',y),)
cases[-1]=cases[-1]+(('f32',ys),('u8',yz))
# 4. QLinearConv per channel + bias, u8 x i8 and i8 x i8
for xdt,xtp in [(np.uint8,TP.UINT8),(np.int8,TP.INT8)]:
    x=rnd(xdt,(1,3,5,5)); w=rnd(np.int8,(4,3,3,3)); b=rng.integers(-2000,2000,4).astype(np.int32)
    xs,xz=f32(0.05),xdt(rng.integers(0,100)); ws=rng.uniform(0.005,0.02,4).astype(f32); wz=np.zeros(4,np.int8); ys,yz=f32(0.2),xdt(10)
    inits=[t('xs',np.array(xs)),t('xz',np.array(xz,xdt)),t('w',w),t('ws',ws),t('wz',wz),t('ys',np.array(ys)),t('yz',np.array(yz,xdt)),t('b',b)]
    node=helper.make_node('QLinearConv',['x','xs','xz','w','ws','wz','ys','yz','b'],['y'],pads=[1,0,1,1],strides=[2,1],kernel_shape=[3,3])
    y=run([node],[vi('x',xtp,x.shape)],[vi('y',xtp,None)],inits,feeds={'x':x})[0]
    d=DT[xdt][0]
    ir=f"graph g(%x: {qt(xdt,x.shape,xs,xz)}) -> (%y) {{\n  %w: i8<axis=0,scale=[{','.join(fs(v) for v in ws)}],zero_point=[0,0,0,0]>[4,3,3,3] = const {vals(w)}\n  %b: i32[4] = const {vals(b)}\n  %y = QConv(%x, %w, %b) {{kernel=[3,3], strides=[2,1], pads=[1,0,1,1], dilations=[1,1], group=1, mode=f32, out_dtype={d}, out_scale={fs(ys)}, out_zero_point={int(yz)}, clamp=none}}\n}}"
    add(f"qlinearconv_{d}", ir, [(d,x)], (d,y))
# 5. QLinearMatMul u8 x i8 per column
a=rnd(np.uint8,(2,3,6)); bm=rnd(np.int8,(6,5)); bs=rng.uniform(0.01,0.03,5).astype(f32); bz=np.zeros(5,np.int8)
inits=[t('as',np.array(f32(0.04))),t('az',np.array(np.uint8(120))),t('b',bm),t('bs',bs),t('bz',bz),t('ys',np.array(f32(0.3))),t('yz',np.array(np.uint8(128)))]
y=run([helper.make_node('QLinearMatMul',['a','as','az','b','bs','bz','ys','yz'],['y'])],[vi('a',TP.UINT8,a.shape)],[vi('y',TP.UINT8,None)],inits,feeds={'a':a})[0]
ir=f"graph g(%a: {qt(np.uint8,a.shape,0.04,120)}) -> (%y) {{\n  %b: i8<axis=1,scale=[{','.join(fs(v) for v in bs)}],zero_point=[0,0,0,0,0]>[6,5] = const {vals(bm)}\n  %y = QMatMul(%a, %b) {{alpha=1.0, mode=f32, out_dtype=u8, out_scale={fs(0.3)}, out_zero_point=128, clamp=none}}\n}}"
add("qlinearmatmul_per_column", ir, [('u8',a)], ('u8',y))
# 6. MatMulInteger, ConvInteger
a=rnd(np.uint8,(3,4)); bm=rnd(np.int8,(4,2)); bz=np.array([3,-2],np.int8)
y=run([helper.make_node('MatMulInteger',['a','b','az','bz'],['y'])],[vi('a',TP.UINT8,a.shape)],[vi('y',TP.INT32,None)],[t('b',bm),t('az',np.array(np.uint8(7))),t('bz',bz)],feeds={'a':a},opset=10)[0]
ir=f"graph g(%a: u8[3,4]) -> (%y) {{\n{const('b',np.int8,bm)}{const('az',np.uint8,np.array(7,np.uint8))}{const('bz',np.int8,bz)}  %y = MatMulInteger(%a, %b, %az, %bz)\n}}"
add("matmul_integer", ir, [('u8',a)], ('i32',y))
x=rnd(np.uint8,(1,2,4,4)); w=rnd(np.uint8,(3,2,2,2))
y=run([helper.make_node('ConvInteger',['x','w','xz','wz'],['y'],pads=[1,1,0,0])],[vi('x',TP.UINT8,x.shape)],[vi('y',TP.INT32,None)],[t('w',w),t('xz',np.array(np.uint8(9))),t('wz',np.array(np.uint8(100)))],feeds={'x':x},opset=10)[0]
ir=f"graph g(%x: u8[1,2,4,4]) -> (%y) {{\n{const('w',np.uint8,w)}{const('xz',np.uint8,np.array(9,np.uint8))}{const('wz',np.uint8,np.array(100,np.uint8))}  %y = ConvInteger(%x, %w, %xz, %wz) {{kernel=[2,2], strides=[1,1], pads=[1,1,0,0], dilations=[1,1], group=1}}\n}}"
add("conv_integer", ir, [('u8',x)], ('i32',y))
# 7. QLinearAdd / Mul
for opn,sa_,sb_ in [('Add',(3,40),(3,1)),('Add',(3,40),(3,40)),('Mul',(2,17),(17,))]:
  for dt in (np.uint8,np.int8):
    a=rnd(dt,sa_); b=rnd(dt,sb_); i=np.iinfo(dt)
    za,zb,zc=[int(v) for v in rng.integers(i.min,i.max+1,3)]
    s1,s2,s3=[f32(v) for v in rng.uniform(0.01,0.2,3)]
    inits=[t('sa',np.array(s1)),t('za',np.array(za,dt)),t('sb',np.array(s2)),t('zb',np.array(zb,dt)),t('sc',np.array(s3)),t('zc',np.array(zc,dt))]
    tp=DT[dt][1]; d=DT[dt][0]
    y=run([helper.make_node('QLinear'+opn,['a','sa','za','b','sb','zb','sc','zc'],['y'],domain='com.microsoft')],[vi('a',tp,a.shape),vi('b',tp,b.shape)],[vi('y',tp,None)],inits,feeds={'a':a,'b':b})[0]
    ir=f"graph g(%a: {qt(dt,a.shape,s1,za)}, %b: {qt(dt,b.shape,s2,zb)}) -> (%y) {{\n  %y = QLinear{opn}(%a, %b) {{out_scale={fs(s3)}, out_zero_point={zc}}}\n}}"
    add(f"qlinear{opn.lower()}_{d}_{sb_[-1]}", ir, [(d,a),(d,b)], (d,y))
# 8. LeakyRelu, Sigmoid over all 256 inputs
for opn,attrs,extra in [('LeakyRelu',{'alpha':0.1},'alpha=0.1, '),('Sigmoid',{},'')]:
  for dt in (np.uint8,np.int8):
    i=np.iinfo(dt); x=np.arange(i.min,i.max+1).astype(dt).reshape(16,16)
    xs,xz,ys,yz=f32(0.05),dt(i.min+100),f32(0.02 if opn=='Sigmoid' else 0.04),dt(i.min if opn=='Sigmoid' else i.min+60)
    tp=DT[dt][1]; d=DT[dt][0]
    inits=[t('xs',np.array(xs)),t('xz',np.array(xz,dt)),t('ys',np.array(ys)),t('yz',np.array(yz,dt))]
    y=run([helper.make_node('QLinear'+opn,['x','xs','xz','ys','yz'],['y'],domain='com.microsoft',**attrs)],[vi('x',tp,x.shape)],[vi('y',tp,None)],inits,feeds={'x':x})[0]
    ir=f"graph g(%x: {qt(dt,x.shape,xs,xz)}) -> (%y) {{\n  %y = QLinear{opn}(%x) {{{extra}out_scale={fs(ys)}, out_zero_point={int(yz)}}}\n}}"
    add(f"qlinear{opn.lower()}_{d}", ir, [(d,x)], (d,y))
# 9. pools
for dt in (np.uint8,np.int8):
    x=rnd(dt,(1,3,6,7)); i=np.iinfo(dt); tp=DT[dt][1]; d=DT[dt][0]
    xs,xz,ys,yz=f32(0.07),dt(i.min+20),f32(0.05),dt(i.min+7)
    inits=[t('xs',np.array(xs)),t('xz',np.array(xz,dt)),t('ys',np.array(ys)),t('yz',np.array(yz,dt))]
    y=run([helper.make_node('QLinearGlobalAveragePool',['x','xs','xz','ys','yz'],['y'],domain='com.microsoft',channels_last=0)],[vi('x',tp,x.shape)],[vi('y',tp,None)],inits,feeds={'x':x})[0]
    add(f"qlinear_gap_{d}", f"graph g(%x: {qt(dt,x.shape,xs,xz)}) -> (%y) {{\n  %y = QLinearGlobalAveragePool(%x) {{out_scale={fs(ys)}, out_zero_point={int(yz)}}}\n}}", [(d,x)], (d,y))
    for cip in (0,1):
        y=run([helper.make_node('QLinearAveragePool',['x','xs','xz','ys','yz'],['y'],domain='com.microsoft',kernel_shape=[3,3],strides=[2,2],pads=[1,1,1,1],count_include_pad=cip)],[vi('x',tp,x.shape)],[vi('y',tp,None)],inits,feeds={'x':x})[0]
        add(f"qlinear_avgpool_{d}_{cip}", f"graph g(%x: {qt(dt,x.shape,xs,xz)}) -> (%y) {{\n  %y = QLinearAveragePool(%x) {{kernel=[3,3], strides=[2,2], pads=[1,1,1,1], dilations=[1,1], ceil_mode=false, count_include_pad={'true' if cip else 'false'}, out_scale={fs(ys)}, out_zero_point={int(yz)}}}\n}}", [(d,x)], (d,y))
# 10. softmax
for dt,yz in ((np.uint8,0),(np.int8,-128)):
    x=rnd(dt,(2,3,10)); tp=DT[dt][1]; d=DT[dt][0]; xs=f32(0.1); ys=f32(1/256)
    inits=[t('xs',np.array(xs)),t('xz',np.array(0,dt)),t('ys',np.array(ys)),t('yz',np.array(yz,dt))]
    for ax in (2,1):
        y=run([helper.make_node('QLinearSoftmax',['x','xs','xz','ys','yz'],['y'],domain='com.microsoft',axis=ax,opset=13)],[vi('x',tp,x.shape)],[vi('y',tp,x.shape)],inits,feeds={'x':x})[0]
        add(f"qlinear_softmax_{d}_{ax}", f"graph g(%x: {qt(dt,x.shape,xs,0)}) -> (%y) {{\n  %y = QLinearSoftmax(%x) {{axis={ax}, out_scale={fs(ys)}, out_zero_point={yz}}}\n}}", [(d,x)], (d,y))
# 11. concat
a=rnd(np.uint8,(2,3)); b=rnd(np.uint8,(2,2))
inits=[t('ys',np.array(f32(0.1))),t('yz',np.array(np.uint8(100))),t('as',np.array(f32(0.13))),t('az',np.array(np.uint8(30))),t('bs',np.array(f32(0.1))),t('bz',np.array(np.uint8(100)))]
y=run([helper.make_node('QLinearConcat',['ys','yz','a','as','az','b','bs','bz'],['y'],domain='com.microsoft',axis=1)],[vi('a',TP.UINT8,a.shape),vi('b',TP.UINT8,b.shape)],[vi('y',TP.UINT8,None)],inits,feeds={'a':a,'b':b})[0]
add("qlinear_concat", f"graph g(%a: {qt(np.uint8,a.shape,0.13,30)}, %b: {qt(np.uint8,b.shape,0.1,100)}) -> (%y) {{\n  %y = QLinearConcat(%a, %b) {{axis=1, out_scale={fs(0.1)}, out_zero_point=100}}\n}}", [('u8',a),('u8',b)], ('u8',y))
# 12. QGemm alpha, bias C, u8 output and float output
a=rnd(np.uint8,(3,4)); bm=rnd(np.int8,(4,5)); c=rng.integers(-500,500,(5,)).astype(np.int32)
for yout in (True,False):
    inits=[t('as',np.array(f32(0.03))),t('az',np.array(np.uint8(110))),t('b',bm),t('bs',np.array(f32(0.02))),t('bz',np.array(np.int8(0))),t('c',c)]
    ins=['a','as','az','b','bs','bz','c']
    if yout: inits+=[t('ys',np.array(f32(0.25))),t('yz',np.array(np.uint8(90)))]; ins+=['ys','yz']
    tp=TP.UINT8 if yout else TP.FLOAT
    y=run([helper.make_node('QGemm',ins,['y'],domain='com.microsoft',alpha=0.7)],[vi('a',TP.UINT8,a.shape)],[vi('y',tp,None)],inits,feeds={'a':a})[0]
    req = f"mode=f32, out_dtype=u8, out_scale={fs(0.25)}, out_zero_point=90, clamp=none" if yout else "mode=none"
    ir=f"graph g(%a: {qt(np.uint8,a.shape,0.03,110)}) -> (%y) {{\n  %b: i8<{fs(0.02)},0>[4,5] = const {vals(bm)}\n{const('c',np.int32,c)}  %y = QMatMul(%a, %b, %c) {{alpha={fs(0.7)}, {req}}}\n}}"
    add(f"qgemm_{'u8' if yout else 'f32'}", ir, [('u8',a)], ('u8' if yout else 'f32',y))

# emit rust
out=["// Generated from onnxruntime 1.31.1 outputs by `quant_matches_ort.rs`'s script. Do not edit.\n","const CASES: &[OrtCase] = &[\n"]
for cs in cases:
    name,ir,ins,*outs=cs
    out.append(f"    OrtCase {{\n        name: {name!r},\n        ir: r#\"{ir}\"#,\n".replace("'",'"'))
    out.append("        inputs: &["+", ".join(f'({d!r}, &{fvals(a)})'.replace("'",'"') for d,a in ins)+"],\n")
    out.append("        outputs: &["+", ".join(f'({d!r}, &{fvals(a)})'.replace("'",'"') for d,a in outs)+"],\n    },\n")
out.append("];\n")
open('cases.rs','w').write(''.join(out))
print(len(cases))
