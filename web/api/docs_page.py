"""A self-contained API reference page (no CDN: the network may be closed).

It reads ``openapi.json`` next to it and lists every operation with its parameters, body and
answers, and lets a reader try a GET with a bearer token.
"""

DOCS_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>济时救 jishijiu — REST API /api/v1</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:0;color:#1f2933}
header{background:#9b1c1c;color:#fff;padding:12px 20px}
main{max-width:1000px;margin:0 auto;padding:12px 20px}
.op{border:1px solid #d2d6dc;border-radius:6px;margin:10px 0}
.op summary{cursor:pointer;padding:8px 10px;font-family:monospace;font-size:15px}
.m{display:inline-block;min-width:64px;font-weight:bold}
.GET{color:#1a56db}.POST{color:#057a55}.PUT{color:#b45309}.DELETE{color:#c81e1e}
.body{padding:0 12px 10px}pre{background:#f4f5f7;padding:8px;overflow:auto;font-size:12px}
input{font-family:monospace;width:60%}
</style></head>
<body><header><h1>济时救 jishijiu — REST API v1</h1>
<p>OpenAPI: <a style="color:#fff" href="openapi.json">openapi.json</a> ·
错误格式 errors: {"error": {"code", "message", "fields"}}</p></header>
<main>
<p><label>Bearer token: <input id="token" placeholder="POST /api/v1/auth/token"></label></p>
<div id="ops">加载中… loading…</div>
</main>
<script>
"use strict";
function el(tag, attrs, text){const e=document.createElement(tag);
  for(const k in (attrs||{})) e.setAttribute(k, attrs[k]); if(text!==undefined) e.textContent=text; return e;}
function resolve(spec, node){
  if(node && node.$ref){const parts=node.$ref.replace("#/","").split("/");
    let n=spec; for(const p of parts) n=n[p]; return n;}
  return node;}
fetch("openapi.json").then(r=>r.json()).then(spec=>{
  const ops=document.getElementById("ops"); ops.textContent="";
  const p=el("p",{},(spec.info.title||"")+" "+(spec.info.version||"")); ops.appendChild(p);
  for(const path of Object.keys(spec.paths).sort()){
    for(const [method, op] of Object.entries(spec.paths[path])){
      if(method==="parameters") continue;
      const M=method.toUpperCase(); const d=el("details",{class:"op"});
      const s=el("summary"); s.appendChild(el("span",{class:"m "+M},M));
      s.appendChild(document.createTextNode(" "+path+"  — "+(op.summary||"")));
      d.appendChild(s); const b=el("div",{class:"body"});
      if(op.description) b.appendChild(el("p",{},op.description));
      const params=(op.parameters||[]).map(x=>resolve(spec,x));
      if(params.length){b.appendChild(el("h4",{},"Parameters"));
        b.appendChild(el("pre",{},params.map(x=>x.in+" "+x.name+(x.required?" (required)":"")+
          ": "+JSON.stringify(x.schema||{})).join("\\n")));}
      if(op.requestBody){b.appendChild(el("h4",{},"Body"));
        b.appendChild(el("pre",{},JSON.stringify(resolve(spec,op.requestBody),null,1)));}
      b.appendChild(el("h4",{},"Responses"));
      b.appendChild(el("pre",{},Object.keys(op.responses||{}).join(", ")));
      if(M==="GET" && path.indexOf("{")<0){const btn=el("button",{},"Try");
        const out=el("pre"); btn.onclick=()=>{fetch(path.replace(/^\\/api\\/v1/,"."),{headers:
          {"Authorization":"Bearer "+document.getElementById("token").value}})
          .then(r=>r.text().then(t=>{out.textContent=r.status+"\\n"+t;}));};
        b.appendChild(btn); b.appendChild(out);}
      d.appendChild(b); ops.appendChild(d);}}
}).catch(e=>{document.getElementById("ops").textContent="openapi.json: "+e;});
</script></body></html>
"""
