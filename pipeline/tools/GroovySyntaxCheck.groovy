// Compiles each file given as an argument up to semantic analysis with the Groovy compiler Jenkins
// embeds (the 2.4 line), without running it. Job DSL and Pipeline steps are method calls on the
// script object, so this checks syntax and class references, not plugin availability.
// Prints "ok <file>" or "FAIL <file>" followed by the compiler's message; exits 1 on any failure.
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases

int failures = 0
args.each { String path ->
    CompilationUnit unit = new CompilationUnit(new CompilerConfiguration(), null, new GroovyClassLoader())
    unit.addSource(new File(path))
    try {
        unit.compile(Phases.SEMANTIC_ANALYSIS)
        println "ok ${path}"
    } catch (CompilationFailedException e) {
        failures++
        println "FAIL ${path}"
        println e.message
    }
}
System.exit(failures == 0 ? 0 : 1)
