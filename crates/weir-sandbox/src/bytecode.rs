//! Compiled JavaScript. QuickJS compiles a script once to bytecode, which then runs in any
//! fresh context without parsing again: parse once per app version, never per event. The
//! three calls into QuickJS itself that this needs (rquickjs offers them for modules
//! only) are all here.

use std::ffi::CString;

use rquickjs::{Ctx, Error, FromJs, Result, Value, qjs};

/// Compiles a script (global code, sloppy mode) without running it.
pub(crate) fn compile_only<'js>(ctx: &Ctx<'js>, file: &str, source: &str) -> Result<Value<'js>> {
    let source = CString::new(source)?;
    let file = CString::new(file)?;
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `ctx` is a live context of this thread; both strings are NUL-terminated and
    // outlive the call, as JS_Eval requires. The compiled function it returns is owned by
    // the `Value` made from it, which frees it when dropped.
    unsafe {
        let raw = qjs::JS_Eval(
            ctx.as_raw().as_ptr(),
            source.as_ptr(),
            source.as_bytes().len() as _,
            file.as_ptr(),
            flags,
        );
        if qjs::JS_VALUE_GET_TAG(raw) == qjs::JS_TAG_EXCEPTION {
            return Err(Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), raw))
    }
}

/// Compiles a script to bytecode.
pub(crate) fn compile(ctx: &Ctx<'_>, file: &str, source: &str) -> Result<Vec<u8>> {
    let compiled = compile_only(ctx, file, source)?;
    let mut size = 0;
    // SAFETY: `compiled` is a live function of this context; JS_WriteObject returns a
    // buffer of `size` bytes allocated in this context, copied out, then freed here.
    unsafe {
        let flags = qjs::JS_WRITE_OBJ_BYTECODE as i32;
        let buffer =
            qjs::JS_WriteObject(ctx.as_raw().as_ptr(), &mut size, compiled.as_raw(), flags);
        if buffer.is_null() {
            return Err(Error::Exception);
        }
        let bytes = std::slice::from_raw_parts(buffer, size as usize).to_vec();
        qjs::js_free(ctx.as_raw().as_ptr(), buffer.cast());
        Ok(bytes)
    }
}

/// Runs compiled bytecode in `ctx` and returns what the script evaluates to.
pub(crate) fn run<'js, T: FromJs<'js>>(ctx: &Ctx<'js>, bytecode: &[u8]) -> Result<T> {
    let flags = qjs::JS_READ_OBJ_BYTECODE as i32;
    // SAFETY: `bytecode` was written by `compile` with the same QuickJS build. The object
    // JS_ReadObject returns is handed to JS_EvalFunction, which takes ownership of it; the
    // result is owned by the `Value` made from it.
    let value = unsafe {
        let ctx_ptr = ctx.as_raw().as_ptr();
        let function = qjs::JS_ReadObject(ctx_ptr, bytecode.as_ptr(), bytecode.len() as _, flags);
        if qjs::JS_VALUE_GET_TAG(function) == qjs::JS_TAG_EXCEPTION {
            return Err(Error::Exception);
        }
        let result = qjs::JS_EvalFunction(ctx_ptr, function);
        if qjs::JS_VALUE_GET_TAG(result) == qjs::JS_TAG_EXCEPTION {
            return Err(Error::Exception);
        }
        Value::from_raw(ctx.clone(), result)
    };
    T::from_js(ctx, value)
}
