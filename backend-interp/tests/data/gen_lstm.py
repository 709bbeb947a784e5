from common import *
f32=np.float32
rng=np.random.default_rng(3)
def vals(a): return '['+', '.join(repr(float(v)) if a.dtype==np.float32 else str(int(v)) for v in a.flatten())+']'
def fv(a): return '['+', '.join(repr(float(v)) for v in np.asarray(a,np.float64).flatten())+']'
seq,batch,I,H=4,2,3,2
x=rng.uniform(-1,1,(seq,batch,I)).astype(f32)
out=[]
for dirn,dirs in (('forward',1),('bidirectional',2)):
    W=rng.uniform(-.5,.5,(dirs,4*H,I)).astype(f32); R=rng.uniform(-.5,.5,(dirs,4*H,H)).astype(f32); B=rng.uniform(-.2,.2,(dirs,8*H)).astype(f32)
    h0=rng.uniform(-.3,.3,(dirs,batch,H)).astype(f32); c0=rng.uniform(-.3,.3,(dirs,batch,H)).astype(f32); P=rng.uniform(-.2,.2,(dirs,3*H)).astype(f32)
    inits=[t('W',W),t('R',R),t('B',B),t('h0',h0),t('c0',c0),t('P',P)]
    y=run([helper.make_node('LSTM',['x','W','R','B','','h0','c0','P'],['y','yh','yc'],hidden_size=H,direction=dirn)],[vi('x',TP.FLOAT,x.shape)],[vi('y',TP.FLOAT,None),vi('yh',TP.FLOAT,None),vi('yc',TP.FLOAT,None)],inits,feeds={'x':x},opset=14)
    ir=f"""graph g(%x: f32[{seq},{batch},{I}]) -> (%"l:0", %"l:1", %"l:2") {{
  %w: f32[{dirs},{4*H},{I}] = const {vals(W)}
  %r: f32[{dirs},{4*H},{H}] = const {vals(R)}
  %b: f32[{dirs},{8*H}] = const {vals(B)}
  %h0: f32[{dirs},{batch},{H}] = const {vals(h0)}
  %c0: f32[{dirs},{batch},{H}] = const {vals(c0)}
  %p: f32[{dirs},{3*H}] = const {vals(P)}
  %"l:0", %"l:1", %"l:2" = LSTM(%x, %w, %r, %b, %h0, %c0, %p) {{hidden_size={H}, direction={dirn}, clip=none, input_forget=false}}
}}"""
    out.append((f"lstm_{dirn}", ir, x, y))
# DynamicQuantizeLSTM, forward, per-column u8/i8 weights
Wq=rng.integers(-127,128,(1,I,4*H)).astype(np.int8); Rq=rng.integers(-127,128,(1,H,4*H)).astype(np.int8)
ws=rng.uniform(0.002,0.005,(1,4*H)).astype(f32); rs=np.array([0.004],f32)
B=rng.uniform(-.2,.2,(1,8*H)).astype(f32); h0=rng.uniform(-.3,.3,(1,batch,H)).astype(f32); c0=np.zeros((1,batch,H),f32); P=np.zeros((1,3*H),f32)
inits=[t('W',Wq),t('R',Rq),t('B',B),t('h0',h0),t('c0',c0),t('P',P),t('ws',ws),t('wz',np.zeros((1,4*H),np.int8)),t('rs',rs),t('rz',np.zeros(1,np.int8))]
y=run([helper.make_node('DynamicQuantizeLSTM',['x','W','R','B','','h0','c0','P','ws','wz','rs','rz'],['y','yh','yc'],domain='com.microsoft',hidden_size=H)],[vi('x',TP.FLOAT,x.shape)],[vi('y',TP.FLOAT,None),vi('yh',TP.FLOAT,None),vi('yc',TP.FLOAT,None)],inits,feeds={'x':x},opset=14)
ir=f"""graph g(%x: f32[{seq},{batch},{I}]) -> (%"l:0", %"l:1", %"l:2") {{
  %w: i8<axis=2,scale=[{','.join(repr(float(v)) for v in ws.flatten())}],zero_point=[{','.join('0' for _ in range(4*H))}]>[1,{I},{4*H}] = const {vals(Wq)}
  %r: i8<{repr(float(rs[0]))},0>[1,{H},{4*H}] = const {vals(Rq)}
  %b: f32[1,{8*H}] = const {vals(B)}
  %h0: f32[1,{batch},{H}] = const {vals(h0)}
  %c0: f32[1,{batch},{H}] = const {vals(c0)}
  %p: f32[1,{3*H}] = const {vals(P)}
  %"l:0", %"l:1", %"l:2" = DynamicQuantizeLSTM(%x, %w, %r, %b, %h0, %c0, %p) {{hidden_size={H}, direction=forward, clip=none, input_forget=false}}
}}"""
out.append(("dynamic_quantize_lstm", ir, x, y))
s=["// Generated from onnxruntime 1.31.1 outputs by data/gen_lstm.py. Do not edit.\nconst LSTM_CASES: &[LstmCase] = &[\n"]
for name,ir,x,y in out:
    s.append(f'    LstmCase {{\n        name: "{name}",\n        ir: r#"{ir}"#,\n        x: &{fv(x)},\n        outputs: [&{fv(y[0])}, &{fv(y[1])}, &{fv(y[2])}],\n    }},\n')
s.append("];\n")
open('lstm_cases.rs','w').write(''.join(s))
